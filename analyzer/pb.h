/*
 * A protobuf encoder small enough to read in one sitting: varints, packed
 * repeated integers, length-delimited bytes and nested messages, into one
 * growing buffer.  It encodes only what the caller asks for, in the order
 * asked; it never decodes and never writes anywhere but memory.
 */
#ifndef LT_ANALYZER_PB_H
#define LT_ANALYZER_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lt_pb {
	uint8_t *buf;
	size_t len, cap;
	bool oom;        /* an append failed: the buffer is incomplete */
};

/* Field number and varint value (wire type 0).  Every append below is a
 * no-op once oom is set; check it once at the end. */
void lt_pb_varint(struct lt_pb *b, uint32_t field, uint64_t v);

/* A signed integer field (int64): two's complement, as protobuf wants. */
void lt_pb_int64(struct lt_pb *b, uint32_t field, int64_t v);

/* Length-delimited bytes (wire type 2): strings, raw messages. */
void lt_pb_bytes(struct lt_pb *b, uint32_t field, const void *p, size_t n);

/* A packed repeated varint field; nothing at all when n is 0. */
void lt_pb_packed(struct lt_pb *b, uint32_t field, const uint64_t *v,
		  size_t n);

/*
 * A nested message: lt_pb_begin writes its tag and returns a mark; the
 * caller appends the message's fields; lt_pb_end(mark) puts the length in
 * front of them.  Nesting is fine; marks close innermost first.
 */
size_t lt_pb_begin(struct lt_pb *b, uint32_t field);
void lt_pb_end(struct lt_pb *b, size_t mark);

void lt_pb_free(struct lt_pb *b);

#endif /* LT_ANALYZER_PB_H */
