#ifndef SK_STORE_META_H
#define SK_STORE_META_H

/* DATADIR/meta: the Raft state that must survive a restart before the
 * node may vote or answer (Raft §5.1, Figure 2 "persistent state"):
 * the current term and the member voted for in it. The format and the
 * replace protocol are documented at the top of meta.c. */

#include "lib/err.h"

#include <stdint.h>

#define META_VOTE_MAX 255

struct meta {
    uint64_t term;
    char vote[META_VOTE_MAX + 1]; /* member id or name voted for in term; "" = none */
};

/* Read DATADIR/meta into m. Returns 1 when loaded, 0 when there is no
 * meta file (a fresh node: m is zeroed), <0 when the file exists but is
 * unreadable or damaged: the error names the file, and the caller must
 * not start (resetting term and vote could let this node vote twice in
 * one term). A leftover meta.tmp is ignored. */
int meta_load(const char *datadir, struct meta *m, struct sk_err *err);

/* Replace DATADIR/meta atomically and durably with m (see meta.c for the
 * fsync order). Creates DATADIR if missing. Fails with EINVAL if the
 * vote is longer than META_VOTE_MAX. */
int meta_store(const char *datadir, const struct meta *m, struct sk_err *err);

#endif
