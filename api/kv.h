#ifndef SK_API_KV_H
#define SK_API_KV_H

/* The raw key-value verbs of the store (`kv get|put|del|range|txn|watch|
 * compact|status|members|member-*|snapshot-save`, skiff-protocol(7)):
 * admin-only access to the store for tests, benchmarks and disaster
 * recovery. */

#include "api/server.h"
#include "store/store.h"

#include <stdint.h>

struct api_kv;

/* Register the `kv` verb on srv, serving store s. Free with api_kv_free
 * after the server's connections are closed and before the store. */
struct api_kv *api_kv_register(struct api_server *srv, struct sk_loop *loop, struct store *s);
void api_kv_free(struct api_kv *kv);

/* ---- request parsing (pure, for tests) ---- */

#define API_KV_MAX_ARGS 8

/* Split args in place on spaces and percent-decode each word, keeping
 * its length (a word may hold NUL bytes: "%00"). Returns the number of
 * words, or -1 when there are more than max or an escape is malformed. */
int api_kv_split(char *args, char **argv, uint32_t *lens, int max);

/* A span argument: END as given ("+" = prefix of key, "%00" = every key
 * >= key, or a key) into end (room for key_len or end_len bytes, at
 * least 1). Returns the end length. */
uint32_t api_kv_span_end(const char *key, uint32_t key_len, const char *arg, uint32_t arg_len,
                         char *end);

/* Append the KV JSON object of kv (one line, no newline) to out. A
 * NULL value prints as "". */
void api_kv_json(struct sk_buf *out, const struct mvcc_kv *kv);

/* True if s[0..len) is valid UTF-8 without NUL bytes. */
int api_kv_utf8_ok(const char *s, uint32_t len);

#endif
