/*
 * The one place the analyzer includes <uthash.h>.  Out of memory inside
 * uthash must become an error return, never uthash's default exit(), so
 * adds go through LT_HASH_ADD, which says whether the item went in.
 */
#ifndef LT_ANALYZER_HASH_H
#define LT_ANALYZER_HASH_H

#include <errno.h>
#include <stdbool.h>

/* Set by uthash when an add could not allocate; per translation unit, and
 * the analyzer is single-threaded. */
static bool lt_hash_oom __attribute__((unused));

#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (lt_hash_oom = true)
/* Unreachable with HASH_NONFATAL_OOM; defined so no path can exit(). */
#define uthash_fatal(msg) (lt_hash_oom = true)

#include <uthash.h>

/*
 * Add item to the table head, keyed by item->field (keylen bytes, as
 * HASH_ADD).  Evaluates to 0, or -ENOMEM when uthash could not allocate:
 * the item is then not in the table and still belongs to the caller.
 */
#define LT_HASH_ADD(head, field, keylen, item) ({                     \
	lt_hash_oom = false;                                           \
	HASH_ADD(hh, head, field, keylen, item);                       \
	lt_hash_oom ? -ENOMEM : 0;                                     \
})

#endif /* LT_ANALYZER_HASH_H */
