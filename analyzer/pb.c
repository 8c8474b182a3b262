/*
 * The protobuf encoder of pb.h.  Nested messages are written in place and
 * their length inserted afterwards (one memmove per message), so every
 * varint is minimal, as a canonical encoder would write it.
 */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static bool reserve(struct lt_pb *b, size_t more)
{
	size_t ncap;
	void *p;

	if (b->oom)
		return false;
	if (b->len + more <= b->cap)
		return true;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + more)
		ncap *= 2;
	p = realloc(b->buf, ncap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->buf = p;
	b->cap = ncap;
	return true;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p = (uint8_t)v;
}

static void raw_varint(struct lt_pb *b, uint64_t v)
{
	if (!reserve(b, 10))
		return;
	put_varint(b->buf + b->len, v);
	b->len += varint_len(v);
}

static void tag(struct lt_pb *b, uint32_t field, unsigned wire)
{
	raw_varint(b, (uint64_t)field << 3 | wire);
}

void lt_pb_varint(struct lt_pb *b, uint32_t field, uint64_t v)
{
	tag(b, field, WIRE_VARINT);
	raw_varint(b, v);
}

void lt_pb_int64(struct lt_pb *b, uint32_t field, int64_t v)
{
	lt_pb_varint(b, field, (uint64_t)v);
}

void lt_pb_bytes(struct lt_pb *b, uint32_t field, const void *p, size_t n)
{
	tag(b, field, WIRE_LEN);
	raw_varint(b, n);
	if (!reserve(b, n))
		return;
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void lt_pb_packed(struct lt_pb *b, uint32_t field, const uint64_t *v,
		  size_t n)
{
	size_t bytes = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		bytes += varint_len(v[i]);
	tag(b, field, WIRE_LEN);
	raw_varint(b, bytes);
	for (size_t i = 0; i < n; i++)
		raw_varint(b, v[i]);
}

size_t lt_pb_begin(struct lt_pb *b, uint32_t field)
{
	tag(b, field, WIRE_LEN);
	return b->len;
}

void lt_pb_end(struct lt_pb *b, size_t mark)
{
	size_t body, n;

	if (b->oom)
		return;
	body = b->len - mark;
	n = varint_len(body);
	if (!reserve(b, n))
		return;
	memmove(b->buf + mark + n, b->buf + mark, body);
	put_varint(b->buf + mark, body);
	b->len += n;
}

void lt_pb_free(struct lt_pb *b)
{
	free(b->buf);
	*b = (struct lt_pb){ 0 };
}
