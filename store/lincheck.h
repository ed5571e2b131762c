#ifndef SK_STORE_LINCHECK_H
#define SK_STORE_LINCHECK_H

/* Linearizability checker for histories of key-value operations recorded
 * against the store (its fault-injection tests: clients record what they
 * asked and what they were told while members are killed and
 * partitioned; the checker decides whether some order of the operations,
 * each taking effect at one instant between its invocation and its
 * response, explains every result under a sequential key-value map).
 *
 * The search is Wing & Gong's, with Lowe's memoization as in the
 * Porcupine checker: try linearization points in real-time order, cache
 * every (set of linearized ops, model state) already explored, backtrack.
 * A key-value map is P-compositional (Herlihy & Wing: a history is
 * linearizable iff each object's sub-history is), so each key is checked
 * on its own, which keeps thousands of ops over many keys well under a
 * second.
 *
 * History file format, one operation a line, `#` comments and blank
 * lines ignored (the full rules are at the top of store/lincheck.c):
 *
 *     init KEY VALUE                     (only before the first op)
 *     CLIENT INVOKE-NS RETURN-NS|- put KEY VALUE    -> ok|fail|?
 *     CLIENT INVOKE-NS RETURN-NS|- get KEY          -> VALUE|<nil>|fail|?
 *     CLIENT INVOKE-NS RETURN-NS|- del KEY          -> ok|fail|?
 *     CLIENT INVOKE-NS RETURN-NS|- cas KEY OLD NEW  -> ok|cmpfail|fail|?
 *
 * `ok` acknowledged; `fail` an error that guarantees nothing was applied;
 * `?` unknown (timeout, connection lost): it may take effect at any time
 * after its invocation, or never; `cmpfail` the compare of a cas did not
 * hold. Tokens are percent-encoded (%20 space, %25 '%'); `<nil>` is an
 * absent key (also as a cas OLD/NEW), `<empty>` the empty string. */

#include "lib/buf.h"
#include "lib/err.h"

#include <stddef.h>
#include <stdint.h>

/* RETURN-NS of an op whose outcome is unknown (`-` in a file). */
#define LINCHECK_NO_RETURN INT64_MAX

enum lincheck_kind {
    LINCHECK_PUT,
    LINCHECK_GET,
    LINCHECK_DEL,
    LINCHECK_CAS,
};

enum lincheck_outcome {
    LINCHECK_OK,      /* acknowledged; a get's value is in .value */
    LINCHECK_FAIL,    /* an error: definitely not applied (ignored for get) */
    LINCHECK_UNKNOWN, /* may or may not have been applied (ignored for get) */
    LINCHECK_CMPFAIL, /* cas only: the compare failed, nothing changed */
};

/* One operation as a client saw it. Strings are borrowed by
 * lincheck_history_add(), which copies them. */
struct lincheck_op {
    const char *client; /* any non-empty name; a client's ops never overlap */
    int64_t invoke;     /* ns, >= 0, any epoch shared by all clients */
    int64_t ret;        /* ns, >= invoke; LINCHECK_NO_RETURN allowed for UNKNOWN */
    enum lincheck_kind kind;
    enum lincheck_outcome outcome;
    const char *key;   /* non-empty */
    const char *value; /* put: value written; cas: new value (NULL deletes);
                        * get: value read (NULL: key absent) */
    const char *old;   /* cas: expected value (NULL: expects absent) */
    unsigned line;     /* source line for messages; 0 when built in C */
};

struct lincheck_init {
    char *key;
    char *value;
    unsigned line;
};

/* A recorded history: operations in any order plus initial values (every
 * other key starts absent). The fields are read-only for callers. */
struct lincheck_history {
    struct lincheck_op *ops; /* owned copies: strings are malloc'ed */
    size_t nops, opcap;
    struct lincheck_init *inits;
    size_t ninits, initcap;
};

void lincheck_history_init(struct lincheck_history *h);
void lincheck_history_release(struct lincheck_history *h);

/* Append a copy of op after checking it on its own (fields, times, a
 * result that fits the kind). Overlap between one client's ops is only
 * checked by lincheck_history_validate(). Fails with EINVAL. */
int lincheck_history_add(struct lincheck_history *h, const struct lincheck_op *op,
                         struct sk_err *err);

/* Give key an initial value (value NULL: absent). A key may be given one
 * initial value only (EINVAL). line is for messages (0 from C). */
int lincheck_history_set_init(struct lincheck_history *h, const char *key, const char *value,
                              unsigned line, struct sk_err *err);

/* Check what needs the whole history: no two ops of one client overlap in
 * time (an UNKNOWN op without a return time blocks nothing: its client
 * gave up waiting). Fails with EINVAL naming the line or op number. */
int lincheck_history_validate(const struct lincheck_history *h, struct sk_err *err);

/* Parse a history text into h (appending); name is used in messages,
 * which read "NAME:LINE: what is wrong". The result is validated. */
int lincheck_parse_string(const char *text, const char *name, struct lincheck_history *h,
                          struct sk_err *err);

/* Read and parse the file at path ("-" is stdin). */
int lincheck_parse_file(const char *path, struct lincheck_history *h, struct sk_err *err);

/* Append op to buf as one history line (no newline), percent-encoding
 * every token that needs it, so recorders in C write valid files. */
void lincheck_op_format(const struct lincheck_op *op, struct sk_buf *buf);

/* Percent-encode s (NULL: `<nil>`) as one token onto buf. */
void lincheck_token_format(const char *s, struct sk_buf *buf);

enum lincheck_verdict {
    LINCHECK_LINEARIZABLE,
    LINCHECK_NOT_LINEARIZABLE,
    LINCHECK_UNDECIDED, /* a budget ran out: tests must count it as a failure */
};

/* Budgets that keep a pathological history from hanging CI; 0 means no
 * limit. lincheck_check() uses the defaults below. */
struct lincheck_opts {
    uint64_t max_steps; /* search steps over all keys */
    uint64_t max_ms;    /* wall-clock milliseconds */
    size_t max_mem;     /* bytes of memoization cache for one key */
};

#define LINCHECK_DEFAULT_MAX_MS  10000
#define LINCHECK_DEFAULT_MAX_MEM ((size_t)512 << 20)

struct lincheck_result {
    enum lincheck_verdict verdict;
    char *key;             /* the key that is not linearizable / undecided, or NULL */
    struct sk_buf explain; /* one line: "key 'k': ..." (empty when linearizable) */
    struct sk_buf detail;  /* several lines: the longest linearizable prefix and the
                            * ops that could not come next (for -v) */
    uint64_t steps;        /* search steps taken */
    size_t nkeys;          /* keys checked */
};

void lincheck_result_init(struct lincheck_result *res);
void lincheck_result_release(struct lincheck_result *res);

/* Decide whether h is linearizable; fills res (released and refilled
 * when reused). Returns 0 whatever the verdict, < 0 only when h is
 * invalid (see lincheck_history_validate). Memory is bounded by the
 * opts and freed before returning. */
int lincheck_check(const struct lincheck_history *h, struct lincheck_result *res,
                   struct sk_err *err);
int lincheck_check_opts(const struct lincheck_history *h, const struct lincheck_opts *opts,
                        struct lincheck_result *res, struct sk_err *err);

#endif
