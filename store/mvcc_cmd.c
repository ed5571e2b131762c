/* MVCC commands: the binary encoding carried in Raft entries, and apply
 * (API in mvcc.h).
 *
 * ENCODING (integers little-endian; bytes = u32 length, then the bytes)
 *
 *   command := u8 format (1) | u8 opcode | body
 *
 *   opcode 1 RANGE    bytes key | bytes end | i64 rev | i64 limit | u8 flags
 *   opcode 2 PUT      bytes key | bytes value | u8 flags
 *   opcode 3 DELETE   bytes key | bytes end | u8 flags
 *   opcode 4 TXN      u32 ncmp | cmp * ncmp | u32 nthen | op * nthen
 *                     | u32 nelse | op * nelse
 *            cmp   := u8 target (1 version, 2 create, 3 mod, 4 value)
 *                     | u8 result (1 =, 2 !=, 3 <, 4 >) | bytes key | bytes end
 *                     | operand: i64 for targets 1-3, bytes for 4
 *            op    := u8 opcode (1, 2 or 3) | that opcode's body
 *   opcode 5 COMPACT  i64 rev
 *
 *   flags: PUT and DELETE 1 = prev_kv; RANGE 2 = count_only, 4 = keys_only.
 *   The payload must be consumed exactly. Anything else (unknown format,
 *   opcode, target, result or flag bit, a length past the end, trailing
 *   bytes, a nested txn) is "malformed command at offset N: what", EBADMSG.
 *
 * APPLY
 *
 *   Every check that can fail (limits, revisions, txn conflicts, on both
 *   txn branches, as etcd does) runs before the first change, and the
 *   changes themselves cannot fail, so a command either applies whole or
 *   not at all. Nothing read here depends on time, randomness or memory
 *   addresses, so all members compute the same results. */
#include "io.h"
#include "lib/alloc.h"
#include "mvcc_int.h"

#include <stdlib.h>
#include <string.h>

#define CMD_FORMAT  1
#define RANGE_FLAGS (MVCC_COUNT_ONLY | MVCC_KEYS_ONLY)
#define WRITE_FLAGS MVCC_PREV_KV

/* ---- encoding ---- */

static void
put_u8(struct sk_buf *b, uint8_t v)
{
    sk_buf_append(b, &v, 1);
}

static void
put_u32(struct sk_buf *b, uint32_t v)
{
    unsigned char p[4];

    store_le32_put(p, v);
    sk_buf_append(b, p, 4);
}

static void
put_i64(struct sk_buf *b, int64_t v)
{
    unsigned char p[8];

    store_le64_put(p, (uint64_t)v);
    sk_buf_append(b, p, 8);
}

static void
put_bytes(struct sk_buf *b, const char *p, uint32_t len)
{
    put_u32(b, len);
    sk_buf_append(b, p, len);
}

static void
encode_op_body(struct sk_buf *b, const struct mvcc_op *op)
{
    put_u8(b, (uint8_t)op->type);
    put_bytes(b, op->key, op->key_len);
    switch (op->type) {
    case MVCC_OP_RANGE:
        put_bytes(b, op->end, op->end_len);
        put_i64(b, op->rev);
        put_i64(b, op->limit);
        break;
    case MVCC_OP_PUT:
        put_bytes(b, op->value, op->value_len);
        break;
    case MVCC_OP_DELETE:
        put_bytes(b, op->end, op->end_len);
        break;
    default:
        SK_BUG("mvcc: cannot encode op type %d", (int)op->type);
    }
    put_u8(b, (uint8_t)op->flags);
}

void
mvcc_cmd_encode_op(struct sk_buf *out, const struct mvcc_op *op)
{
    put_u8(out, CMD_FORMAT);
    encode_op_body(out, op);
}

void
mvcc_cmd_encode_put(struct sk_buf *out, const char *key, uint32_t key_len, const char *value,
                    uint32_t value_len, unsigned flags)
{
    struct mvcc_op op = {MVCC_OP_PUT, key, key_len, NULL, 0, value, value_len, 0, 0, flags};

    mvcc_cmd_encode_op(out, &op);
}

void
mvcc_cmd_encode_delete(struct sk_buf *out, const char *key, uint32_t key_len, const char *end,
                       uint32_t end_len, unsigned flags)
{
    struct mvcc_op op = {MVCC_OP_DELETE, key, key_len, end, end_len, NULL, 0, 0, 0, flags};

    mvcc_cmd_encode_op(out, &op);
}

void
mvcc_cmd_encode_txn(struct sk_buf *out, const struct mvcc_txn *txn)
{
    const struct mvcc_cmp *c;
    size_t i;

    put_u8(out, CMD_FORMAT);
    put_u8(out, MVCC_OP_TXN);
    put_u32(out, (uint32_t)txn->ncmps);
    for (i = 0; i < txn->ncmps; i++) {
        c = &txn->cmps[i];
        put_u8(out, (uint8_t)c->target);
        put_u8(out, (uint8_t)c->result);
        put_bytes(out, c->key, c->key_len);
        put_bytes(out, c->end, c->end_len);
        if (c->target == MVCC_CMP_VALUE)
            put_bytes(out, c->value, c->value_len);
        else
            put_i64(out, c->num);
    }
    put_u32(out, (uint32_t)txn->nthen);
    for (i = 0; i < txn->nthen; i++)
        encode_op_body(out, &txn->then[i]);
    put_u32(out, (uint32_t)txn->nels);
    for (i = 0; i < txn->nels; i++)
        encode_op_body(out, &txn->els[i]);
}

void
mvcc_cmd_encode_compact(struct sk_buf *out, int64_t rev)
{
    put_u8(out, CMD_FORMAT);
    put_u8(out, MVCC_OP_COMPACT);
    put_i64(out, rev);
}

/* ---- decoding ---- */

struct dec {
    const unsigned char *base;
    const unsigned char *p;
    size_t left;
    struct sk_err *err;
};

static int
dec_fail(struct dec *d, const char *what)
{
    return sk_err_set(d->err, EBADMSG, "malformed command at offset %zu: %s",
                      (size_t)(d->p - d->base), what);
}

static int
dec_take(struct dec *d, size_t n, const unsigned char **out)
{
    *out = d->p;
    if (d->left < n)
        return dec_fail(d, "truncated");
    *out = d->p;
    d->p += n;
    d->left -= n;
    return 0;
}

static int
dec_u8(struct dec *d, uint8_t *v)
{
    const unsigned char *p;
    int rc = dec_take(d, 1, &p);

    if (rc == 0)
        *v = p[0];
    return rc;
}

static int
dec_u32(struct dec *d, uint32_t *v)
{
    const unsigned char *p;
    int rc = dec_take(d, 4, &p);

    if (rc == 0)
        *v = store_le32_get(p);
    return rc;
}

static int
dec_i64(struct dec *d, int64_t *v)
{
    const unsigned char *p;
    int rc = dec_take(d, 8, &p);

    if (rc == 0)
        *v = (int64_t)store_le64_get(p);
    return rc;
}

static int
dec_bytes(struct dec *d, const char **out, uint32_t *len)
{
    const unsigned char *p;
    int rc;

    rc = dec_u32(d, len);
    if (rc == 0 && *len > d->left)
        return dec_fail(d, "length runs past the end");
    if (rc == 0)
        rc = dec_take(d, *len, &p);
    if (rc == 0)
        *out = (const char *)p;
    return rc;
}

static int
dec_flags(struct dec *d, unsigned allowed, unsigned *flags)
{
    uint8_t f = 0;
    int rc = dec_u8(d, &f);

    if (rc == 0 && (f & ~allowed))
        return dec_fail(d, "unknown flag bits");
    *flags = f;
    return rc;
}

/* Body of a range, put or delete whose opcode was just read. */
static int
dec_op_body(struct dec *d, uint8_t opcode, struct mvcc_op *op)
{
    int rc;

    memset(op, 0, sizeof(*op));
    if (opcode < MVCC_OP_RANGE || opcode > MVCC_OP_DELETE)
        return dec_fail(d, "unknown opcode");
    op->type = (enum mvcc_op_type)opcode;
    rc = dec_bytes(d, &op->key, &op->key_len);
    if (rc < 0)
        return rc;
    switch (opcode) {
    case MVCC_OP_RANGE:
        rc = dec_bytes(d, &op->end, &op->end_len);
        if (rc == 0)
            rc = dec_i64(d, &op->rev);
        if (rc == 0)
            rc = dec_i64(d, &op->limit);
        return rc < 0 ? rc : dec_flags(d, RANGE_FLAGS, &op->flags);
    case MVCC_OP_PUT:
        rc = dec_bytes(d, &op->value, &op->value_len);
        return rc < 0 ? rc : dec_flags(d, WRITE_FLAGS, &op->flags);
    case MVCC_OP_DELETE:
        rc = dec_bytes(d, &op->end, &op->end_len);
        return rc < 0 ? rc : dec_flags(d, WRITE_FLAGS, &op->flags);
    default:
        return dec_fail(d, "unknown opcode");
    }
}

static int
dec_cmp(struct dec *d, struct mvcc_cmp *c)
{
    uint8_t target = 0, result = 0;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = dec_u8(d, &target);
    if (rc == 0 && (target < MVCC_CMP_VERSION || target > MVCC_CMP_VALUE))
        return dec_fail(d, "unknown compare target");
    if (rc == 0)
        rc = dec_u8(d, &result);
    if (rc == 0 && (result < MVCC_CMP_EQUAL || result > MVCC_CMP_GREATER))
        return dec_fail(d, "unknown compare result");
    if (rc == 0)
        rc = dec_bytes(d, &c->key, &c->key_len);
    if (rc == 0)
        rc = dec_bytes(d, &c->end, &c->end_len);
    if (rc < 0)
        return rc;
    c->target = (enum mvcc_cmp_target)target;
    c->result = (enum mvcc_cmp_result)result;
    if (target == MVCC_CMP_VALUE)
        return dec_bytes(d, &c->value, &c->value_len);
    return dec_i64(d, &c->num);
}

/* A count of items at least min_size bytes each: bounded by what is left,
 * so a forged count cannot make us allocate more than the payload. */
static int
dec_count(struct dec *d, size_t min_size, size_t *n)
{
    uint32_t v = 0;
    int rc = dec_u32(d, &v);

    if (rc == 0 && v > d->left / min_size)
        return dec_fail(d, "count larger than the payload");
    *n = v;
    return rc;
}

static int
dec_ops(struct dec *d, struct mvcc_op **ops, size_t *n)
{
    uint8_t opcode = 0;
    size_t i;
    int rc;

    *ops = NULL;
    rc = dec_count(d, 10, n); /* smallest op: a put of empty key and value */
    if (rc < 0)
        return rc;
    *ops = sk_calloc(*n, sizeof(**ops));
    for (i = 0; rc == 0 && i < *n; i++) {
        rc = dec_u8(d, &opcode);
        if (rc == 0 && opcode == MVCC_OP_TXN)
            return dec_fail(d, "nested txn");
        if (rc == 0)
            rc = dec_op_body(d, opcode, &(*ops)[i]);
    }
    return rc;
}

struct cmd {
    enum mvcc_op_type type;
    struct mvcc_op op;
    struct mvcc_cmp *cmps;
    size_t ncmps;
    struct mvcc_op *then;
    size_t nthen;
    struct mvcc_op *els;
    size_t nels;
    int64_t compact_rev;
};

static void
cmd_release(struct cmd *c)
{
    free(c->cmps);
    free(c->then);
    free(c->els);
}

static int
dec_txn(struct dec *d, struct cmd *c)
{
    size_t i;
    int rc;

    rc = dec_count(d, 14, &c->ncmps); /* smallest cmp: empty key and end, i64 */
    if (rc < 0)
        return rc;
    c->cmps = sk_calloc(c->ncmps, sizeof(*c->cmps));
    for (i = 0; rc == 0 && i < c->ncmps; i++)
        rc = dec_cmp(d, &c->cmps[i]);
    if (rc == 0)
        rc = dec_ops(d, &c->then, &c->nthen);
    if (rc == 0)
        rc = dec_ops(d, &c->els, &c->nels);
    return rc;
}

static int
cmd_decode(const void *payload, size_t len, struct cmd *c, struct sk_err *err)
{
    struct dec d = {payload, payload, len, err};
    uint8_t format = 0, opcode = 0;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = dec_u8(&d, &format);
    if (rc == 0 && format != CMD_FORMAT)
        return dec_fail(&d, "unknown format");
    if (rc == 0)
        rc = dec_u8(&d, &opcode);
    if (rc < 0)
        return rc;
    c->type = (enum mvcc_op_type)opcode;
    if (opcode == MVCC_OP_TXN)
        rc = dec_txn(&d, c);
    else if (opcode == MVCC_OP_COMPACT)
        rc = dec_i64(&d, &c->compact_rev);
    else
        rc = dec_op_body(&d, opcode, &c->op);
    if (rc == 0 && d.left)
        rc = dec_fail(&d, "trailing bytes");
    return rc;
}

/* ---- validation ---- */

static int
bytes_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
    uint32_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;

    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int
check_op(const struct mvcc *s, const struct mvcc_op *op, struct sk_err *err)
{
    static const char *const names[] = {"", "range", "put", "delete"};
    int rc;

    rc = mvcc_check_key(names[op->type], op->key_len, op->end_len, err);
    if (rc < 0)
        return rc;
    if (op->type == MVCC_OP_PUT && op->value_len > MVCC_VALUE_MAX)
        return sk_err_set(err, EINVAL, "put: value of %u bytes exceeds %u", op->value_len,
                          MVCC_VALUE_MAX);
    if (op->type != MVCC_OP_RANGE)
        return 0;
    if (op->limit < 0)
        return sk_err_set(err, EINVAL, "range: negative limit");
    return mvcc_check_read_rev(s, op->rev, err);
}

static int
cmp_put_keys(const void *a, const void *b)
{
    const struct mvcc_op *x = *(const struct mvcc_op *const *)a;
    const struct mvcc_op *y = *(const struct mvcc_op *const *)b;

    return bytes_cmp(x->key, x->key_len, y->key, y->key_len);
}

/* Does the span of del contain key? */
static int
span_contains(const struct mvcc_op *del, const char *key, uint32_t len)
{
    int c = bytes_cmp(key, len, del->key, del->key_len);

    if (del->end_len == 0)
        return c == 0;
    if (c < 0)
        return 0;
    return (del->end_len == 1 && del->end[0] == '\0') ||
           bytes_cmp(key, len, del->end, del->end_len) < 0;
}

/* Index of the first put whose key is >= op's key. */
static size_t
puts_lower_bound(const struct mvcc_op **puts, size_t np, const struct mvcc_op *op)
{
    size_t lo = 0, hi = np, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (bytes_cmp(puts[mid]->key, puts[mid]->key_len, op->key, op->key_len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* As etcd: within one branch a key may be put once, and not deleted too,
 * since both would carry the same revision. */
static int
check_conflicts(const struct mvcc_op *ops, size_t n, struct sk_err *err)
{
    const struct mvcc_op **puts = sk_calloc(n, sizeof(*puts));
    size_t np = 0, i, j;
    int rc = 0;

    for (i = 0; i < n; i++)
        if (ops[i].type == MVCC_OP_PUT)
            puts[np++] = &ops[i];
    qsort(puts, np, sizeof(*puts), cmp_put_keys);
    for (i = 1; i < np && rc == 0; i++)
        if (cmp_put_keys(&puts[i - 1], &puts[i]) == 0)
            rc = sk_err_set(err, EINVAL, "duplicate key given in txn request");
    for (i = 0; i < n && rc == 0; i++) {
        if (ops[i].type != MVCC_OP_DELETE)
            continue;
        /* The first put >= the delete's start is the only candidate. */
        j = puts_lower_bound(puts, np, &ops[i]);
        if (j < np && span_contains(&ops[i], puts[j]->key, puts[j]->key_len))
            rc = sk_err_set(err, EINVAL, "duplicate key given in txn request");
    }
    free(puts);
    return rc;
}

static int
check_branch(const struct mvcc *s, const struct mvcc_op *ops, size_t n, struct sk_err *err)
{
    size_t i;
    int rc = 0;

    if (n > MVCC_TXN_MAX_OPS)
        return sk_err_set(err, EINVAL, "txn: %zu operations exceed %u", n, MVCC_TXN_MAX_OPS);
    for (i = 0; i < n && rc == 0; i++)
        rc = check_op(s, &ops[i], err);
    return rc < 0 ? rc : check_conflicts(ops, n, err);
}

static int
check_txn(const struct mvcc *s, const struct cmd *c, struct sk_err *err)
{
    size_t i;
    int rc = 0;

    if (c->ncmps > MVCC_TXN_MAX_OPS)
        return sk_err_set(err, EINVAL, "txn: %zu compares exceed %u", c->ncmps, MVCC_TXN_MAX_OPS);
    for (i = 0; i < c->ncmps && rc == 0; i++)
        rc = mvcc_check_key("compare", c->cmps[i].key_len, c->cmps[i].end_len, err);
    if (rc == 0)
        rc = check_branch(s, c->then, c->nthen, err);
    if (rc == 0)
        rc = check_branch(s, c->els, c->nels, err);
    return rc;
}

/* ---- compares ---- */

static int
cmp_outcome(enum mvcc_cmp_result result, int c)
{
    switch (result) {
    case MVCC_CMP_EQUAL:
        return c == 0;
    case MVCC_CMP_NOT_EQUAL:
        return c != 0;
    case MVCC_CMP_LESS:
        return c < 0;
    case MVCC_CMP_GREATER:
        return c > 0;
    }
    return 0;
}

/* One key's kv against the compare; v NULL stands for a missing key. */
static int
cmp_kv(const struct mvcc_cmp *c, const struct mvcc_ver *v)
{
    int64_t a;

    switch (c->target) {
    case MVCC_CMP_VALUE:
        if (!v)
            return 0;
        return cmp_outcome(c->result, bytes_cmp(v->val->data, v->val->len, c->value, c->value_len));
    case MVCC_CMP_VERSION:
        a = v ? v->version : 0;
        break;
    case MVCC_CMP_CREATE:
        a = v ? v->create_rev : 0;
        break;
    case MVCC_CMP_MOD:
        a = v ? v->mod_rev : 0;
        break;
    default:
        return 0;
    }
    return cmp_outcome(c->result, (a > c->num) - (a < c->num));
}

static int
cmp_eval(struct mvcc *s, const struct mvcc_cmp *c)
{
    const struct mvcc_ver *v;
    struct mvcc_span_it it;
    struct mvcc_key *k;
    int any = 0;

    mvcc_span_begin(&it, s, c->key, c->key_len, c->end, c->end_len);
    while ((k = mvcc_span_next(&it))) {
        v = mvcc_ver_at(k, s->rev);
        if (!v || !v->val)
            continue;
        any = 1;
        if (!cmp_kv(c, v))
            return 0;
    }
    return any || cmp_kv(c, NULL);
}

/* ---- execution ---- */

static void
notify_applied(struct mvcc *s, size_t first_hist)
{
    size_t n = s->nhist - first_hist, i;
    struct mvcc_event *evs;

    if (!s->hooks.applied || !n)
        return;
    evs = sk_calloc(n, sizeof(*evs));
    for (i = 0; i < n; i++)
        mvcc_event_build(&s->hist[first_hist + i], (uint32_t)i, &evs[i]);
    s->hooks.applied(s->hooks.arg, s->rev, evs, n);
    free(evs);
}

/* Run checked ops under (at most) one new revision. */
static void
exec_ops(struct mvcc *s, const struct mvcc_op *ops, size_t n, struct mvcc_result *res)
{
    int64_t wrev = s->rev + 1, rrev;
    size_t first_hist = s->nhist, i;
    int changed = 0;

    res->ops = sk_calloc(n, sizeof(*res->ops));
    res->nops = n;
    for (i = 0; i < n; i++) {
        res->ops[i].type = ops[i].type;
        switch (ops[i].type) {
        case MVCC_OP_PUT:
            mvcc_do_put(s, &ops[i], wrev, &res->ops[i]);
            changed = 1;
            break;
        case MVCC_OP_DELETE:
            if (mvcc_do_delete(s, &ops[i], wrev, &res->ops[i]) > 0)
                changed = 1;
            break;
        case MVCC_OP_RANGE:
            /* Later ops see earlier writes of the same txn, as in etcd. */
            rrev = ops[i].rev ? ops[i].rev : changed ? wrev : s->rev;
            mvcc_do_range(s, &ops[i], rrev, &res->ops[i]);
            break;
        default:
            SK_BUG("mvcc: unexpected op type %d", (int)ops[i].type);
        }
    }
    if (changed)
        s->rev = wrev;
    res->rev = s->rev;
    if (changed)
        notify_applied(s, first_hist);
}

static int
apply_cmd(struct mvcc *s, const struct cmd *c, struct mvcc_result *res, struct sk_err *err)
{
    size_t i;
    int rc, ok = 1;

    res->succeeded = 1;
    switch (c->type) {
    case MVCC_OP_COMPACT:
        rc = mvcc_compact(s, c->compact_rev, err);
        res->rev = s->rev;
        return rc;
    case MVCC_OP_TXN:
        rc = check_txn(s, c, err);
        if (rc < 0)
            return rc;
        for (i = 0; i < c->ncmps && ok; i++)
            ok = cmp_eval(s, &c->cmps[i]);
        res->succeeded = ok;
        if (ok)
            exec_ops(s, c->then, c->nthen, res);
        else
            exec_ops(s, c->els, c->nels, res);
        return 0;
    default:
        rc = check_op(s, &c->op, err);
        if (rc < 0)
            return rc;
        exec_ops(s, &c->op, 1, res);
        return 0;
    }
}

int
mvcc_apply(struct mvcc *s, const void *payload, size_t len, struct mvcc_result *res,
           struct sk_err *err)
{
    struct cmd c;
    int rc;

    mvcc_result_release(res);
    rc = cmd_decode(payload, len, &c, err);
    if (rc == 0)
        rc = apply_cmd(s, &c, res, err);
    if (rc < 0) {
        mvcc_result_release(res);
        res->rev = s->rev;
    }
    cmd_release(&c);
    return rc;
}
