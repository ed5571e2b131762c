/* Requests waiting for the log (API in store.h, internals in
 * node_int.h): proposals until their entry is applied, linearizable
 * reads until their ReadIndex round (Raft thesis §6.4) is confirmed and
 * applied, and requests parked while there is no leader.
 *
 * A proposal is identified by its entry's (term, index): it committed
 * iff an entry with that index AND term is applied; another term at
 * that index means it was lost to a leader change (raft.h). Proposals
 * are made in index order, so s->props is a FIFO ordered by index and
 * completing them on apply only looks at its head.
 *
 * Reads that arrive while a round is pending are gathered in
 * s->reads_new and all share the next round: one heartbeat round per
 * batch, not per read. */
#include "store/node_int.h"

#include "lib/alloc.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

void
node_queue_push(struct node_queue *q, struct node_req *req)
{
    req->next = NULL;
    if (q->tail)
        q->tail->next = req;
    else
        q->head = req;
    q->tail = req;
}

struct node_req *
node_queue_pop(struct node_queue *q)
{
    struct node_req *req = q->head;

    if (req) {
        q->head = req->next;
        if (!q->head)
            q->tail = NULL;
        req->next = NULL;
    }
    return req;
}

void
node_req_free(struct node_req *req)
{
    free(req->cmd);
    free(req);
}

void
node_req_fail(struct node_req *req, int code, const char *msg)
{
    struct sk_err err;

    if (req->fwd_from) { /* a follower's read: tell it to retry */
        node_fwd_read_answer(req->s, req, 0);
        node_req_free(req);
        return;
    }
    sk_err_set(&err, code, "%s", msg);
    if (req->is_read)
        req->rcb(req->arg, &err);
    else
        req->wcb(req->arg, NULL, &err);
    node_req_free(req);
}

static void
park(struct store *s, struct node_req *req)
{
    node_queue_push(&s->parked, req);
}

static void
try_propose(struct store *s, struct node_req *req, const void *cmd, size_t len)
{
    struct raft_ticket t;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = raft_propose(s->r, cmd, (uint32_t)len, &t, &err);
    if (rc == 0) {
        free(req->cmd);
        req->cmd = NULL;
        req->term = t.term;
        req->index = t.index;
        node_queue_push(&s->props, req);
        node_schedule(s);
        return;
    }
    if (rc == -RAFT_ENOTLEADER && node_fwd_write(s, req, cmd, len) == 0)
        return;
    if (rc == -RAFT_ENOTLEADER || rc == -EBUSY) {
        /* Wait (bounded by the election timeout) for a leader. */
        if (!req->cmd) {
            req->cmd = sk_malloc(len ? len : 1);
            memcpy(req->cmd, cmd, len);
            req->len = (uint32_t)len;
        }
        park(s, req);
        return;
    }
    node_req_fail(req, err.code ? err.code : EIO, err.msg);
}

static struct node_req *
req_new(struct store *s)
{
    struct node_req *req = sk_calloc(1, sizeof(*req));

    req->s = s;
    req->deadline_ms = sk_loop_now_ms(s->loop);
    return req;
}

void
store_write(struct store *s, const void *cmd, size_t len, store_write_cb cb, void *arg)
{
    struct node_req *req = req_new(s);

    req->wcb = cb;
    req->arg = arg;
    if (s->failed || s->closing) {
        node_req_fail(req, ECANCELED, "store is shutting down");
        return;
    }
    try_propose(s, req, cmd, len);
}

void
store_read_barrier(struct store *s, store_read_cb cb, void *arg)
{
    struct node_req *req = req_new(s);

    req->is_read = 1;
    req->rcb = cb;
    req->arg = arg;
    if (s->failed || s->closing) {
        node_req_fail(req, ECANCELED, "store is shutting down");
        return;
    }
    node_queue_push(&s->reads_new, req);
    node_schedule(s);
}

void
node_reqs_applied(struct store *s, uint64_t index, uint64_t term, const struct mvcc_result *res,
                  const struct sk_err *err)
{
    struct node_req *req;
    struct sk_err ok;

    while (s->props.head && s->props.head->index <= index) {
        req = node_queue_pop(&s->props);
        if (!term) { /* a snapshot replaced the log: we cannot tell */
            node_req_fail(req, ETIMEDOUT, "outcome unknown (a snapshot was installed)");
            continue;
        }
        if (req->index != index || req->term != term) {
            node_req_fail(req, EAGAIN, "proposal lost to a leader change; retry");
            continue;
        }
        if (req->conf) {
            req->wcb(req->arg, NULL, NULL);
            node_req_free(req);
            continue;
        }
        if (!res && !err) { /* a NOOP or CONF entry cannot be a proposal of ours */
            sk_err_set(&ok, EIO, "entry %llu is not a command", (unsigned long long)index);
            err = &ok;
        }
        req->wcb(req->arg, err ? NULL : res, err);
        node_req_free(req);
    }
}

static void
expire_forwarded(struct node_queue *q)
{
    struct node_req *req, **pp = &q->head;

    q->tail = NULL;
    while ((req = *pp)) {
        if (req->fwd_from) {
            *pp = req->next;
            node_req_fail(req, EAGAIN, "leadership lost");
            continue;
        }
        q->tail = req;
        pp = &req->next;
    }
}

/* Start one ReadIndex round for every read that has none. */
void
node_reads_issue(struct store *s)
{
    struct raft_ticket t;
    struct sk_err err;
    struct node_req *req;
    uint64_t ctx;

    if (!s->reads_new.head)
        return;
    sk_err_init(&err);
    ctx = ++s->read_ctx;
    if (s->soft.role != RAFT_LEADER) {
        /* Reads other followers forwarded to us: we lost leadership
         * meanwhile; they retry with the new leader. */
        expire_forwarded(&s->reads_new);
        if (!s->reads_new.head)
            return;
        if (node_fwd_reads(s, &s->reads_new) == 0)
            return;
        while ((req = node_queue_pop(&s->reads_new)))
            park(s, req);
        return;
    }
    if (raft_read_index(s->r, ctx, &t, &err) < 0) {
        while ((req = node_queue_pop(&s->reads_new)))
            park(s, req);
        return;
    }
    while ((req = node_queue_pop(&s->reads_new))) {
        req->ctx = ctx;
        req->index = 0;
        node_queue_push(&s->reads_wait, req);
    }
}

void
node_reads_result(struct store *s, const struct raft_read *rd)
{
    struct node_req *req, **pp = &s->reads_wait.head;

    s->reads_wait.tail = NULL;
    while ((req = *pp)) {
        if (req->ctx == rd->ctx && req->fwd_from) {
            /* A follower's read: it waits for the index itself. */
            *pp = req->next;
            node_fwd_read_answer(s, req, rd->index);
            node_req_free(req);
            continue;
        }
        if (req->ctx == rd->ctx && rd->index == 0) {
            /* Leadership lost mid-round: retry with the next leader. */
            *pp = req->next;
            park(s, req);
            continue;
        }
        if (req->ctx == rd->ctx)
            req->index = rd->index;
        s->reads_wait.tail = req;
        pp = &req->next;
    }
}

void
node_reads_complete(struct store *s)
{
    struct node_req *req, **pp = &s->reads_wait.head;

    s->reads_wait.tail = NULL;
    while ((req = *pp)) {
        if (req->index && req->index <= s->applied) {
            *pp = req->next;
            req->rcb(req->arg, NULL);
            node_req_free(req);
            continue;
        }
        s->reads_wait.tail = req;
        pp = &req->next;
    }
}

void
node_parked_retry(struct store *s)
{
    struct node_queue q = s->parked;
    struct node_req *req;

    if ((s->soft.role != RAFT_LEADER && !s->soft.leader) || !q.head)
        return;
    memset(&s->parked, 0, sizeof(s->parked));
    while ((req = node_queue_pop(&q))) {
        if (req->is_read)
            node_queue_push(&s->reads_new, req);
        else
            try_propose(s, req, req->cmd, req->len);
    }
    node_schedule(s);
}

/* Fail the requests of q that started at or before cutoff. */
static void
expire_queue(struct node_queue *q, uint64_t cutoff, int code, const char *msg)
{
    struct node_req *req, **pp = &q->head;

    q->tail = NULL;
    while ((req = *pp)) {
        if (req->deadline_ms <= cutoff) {
            *pp = req->next;
            node_req_fail(req, code, msg);
            continue;
        }
        q->tail = req;
        pp = &req->next;
    }
}

void
node_reqs_expire(struct store *s, uint64_t now)
{
    if (now > s->election_ms)
        expire_queue(&s->parked, now - s->election_ms, EAGAIN, "no leader");
    if (now > s->proposal_ms) {
        expire_queue(&s->props, now - s->proposal_ms, ETIMEDOUT, "proposal timed out");
        expire_queue(&s->reads_wait, now - s->proposal_ms, ETIMEDOUT, "read timed out");
        expire_queue(&s->fwd_wait, now - s->proposal_ms, ETIMEDOUT,
                     "no answer from the leader in time");
    }
}

void
node_reqs_fail_all(struct store *s, int code, const char *msg)
{
    struct node_queue *qs[] = {&s->props, &s->parked, &s->reads_new, &s->reads_wait, &s->fwd_wait};
    struct node_req *req;
    size_t i;

    for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        while ((req = node_queue_pop(qs[i])))
            node_req_fail(req, code, msg);
}
