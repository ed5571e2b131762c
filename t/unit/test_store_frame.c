/* store/frame: peer frame headers, raft message encoding (round trip and
 * malformed input), hello payloads and the handshake MAC. */
#include "store/frame.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static void
sample_msg(struct raft_msg *m, struct raft_entry *ents)
{
    memset(m, 0, sizeof(*m));
    m->type = RAFT_MSG_APPEND;
    m->from = 11;
    m->to = 22;
    m->term = 7;
    m->index = 100;
    m->log_term = 6;
    m->commit = 99;
    m->hint = 3;
    m->ctx = 42;
    ents[0] = (struct raft_entry){7, 101, RAFT_ENTRY_NORMAL, 3, "abc"};
    ents[1] = (struct raft_entry){7, 102, RAFT_ENTRY_NOOP, 0, ""};
    m->entries = ents;
    m->n_entries = 2;
}

START_TEST(header_round_trip_and_crc)
{
    unsigned char hdr[FRAME_HEADER_SIZE];
    uint32_t len, crc;
    uint8_t type;

    frame_header_encode(hdr, FRAME_RAFT, "payload", 7);
    ck_assert_int_eq(frame_header_decode(hdr, &type, &len, &crc, NULL), 0);
    ck_assert_uint_eq(type, FRAME_RAFT);
    ck_assert_uint_eq(len, 7);
    ck_assert_int_eq(frame_payload_check("payload", 7, crc, NULL), 0);
    ck_assert_int_lt(frame_payload_check("paylaod", 7, crc, NULL), 0);
}
END_TEST

START_TEST(header_refuses_bad_magic_version_type_length)
{
    unsigned char hdr[FRAME_HEADER_SIZE], bad[FRAME_HEADER_SIZE];
    struct sk_err err;
    uint32_t len, crc;
    uint8_t type;
    static const struct {
        size_t off;
        unsigned char val;
        const char *what;
    } cases[] = {
        {0, 'X', "magic"},
        {4, 2, "version"},
        {5, 0, "unknown frame type"},
        {5, 99, "unknown frame type"},
        {11, 0x10, "exceeds"},
    };
    size_t i;

    frame_header_encode(hdr, FRAME_AUTH, "", 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(bad, hdr, sizeof(bad));
        bad[cases[i].off] = cases[i].val;
        sk_err_init(&err);
        ck_assert_int_lt(frame_header_decode(bad, &type, &len, &crc, &err), 0);
        ck_assert_msg(strstr(err.msg, cases[i].what), "case %zu: %s", i, err.msg);
    }
}
END_TEST

START_TEST(msg_round_trip_keeps_every_field)
{
    struct raft_entry ents[2];
    struct raft_msg m, out;
    struct sk_buf b = SK_BUF_INIT;

    sample_msg(&m, ents);
    frame_msg_encode(&b, &m);
    ck_assert_int_eq(frame_msg_decode((unsigned char *)b.data, b.len, &out, NULL), 0);
    ck_assert_uint_eq(out.type, m.type);
    ck_assert_uint_eq(out.from, 11);
    ck_assert_uint_eq(out.to, 22);
    ck_assert_uint_eq(out.term, 7);
    ck_assert_uint_eq(out.index, 100);
    ck_assert_uint_eq(out.log_term, 6);
    ck_assert_uint_eq(out.commit, 99);
    ck_assert_uint_eq(out.hint, 3);
    ck_assert_uint_eq(out.ctx, 42);
    ck_assert_uint_eq(out.n_entries, 2);
    ck_assert_uint_eq(out.entries[0].index, 101);
    ck_assert_uint_eq(out.entries[0].len, 3);
    ck_assert_mem_eq(out.entries[0].data, "abc", 3);
    ck_assert_uint_eq(out.entries[1].type, RAFT_ENTRY_NOOP);
    frame_msg_release(&out);
    sk_buf_release(&b);
}
END_TEST

START_TEST(snapshot_msg_carries_its_configuration)
{
    struct raft_msg m, out;
    struct sk_buf b = SK_BUF_INIT;

    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_SNAPSHOT;
    m.from = 1;
    m.to = 2;
    m.term = 3;
    m.snapshot.index = 500;
    m.snapshot.term = 2;
    m.snapshot.handle = 500;
    m.snapshot.conf.n = 2;
    m.snapshot.conf.servers[0] = (struct raft_server){1, RAFT_VOTER};
    m.snapshot.conf.servers[1] = (struct raft_server){2, RAFT_LEARNER};
    frame_msg_encode(&b, &m);
    ck_assert_int_eq(frame_msg_decode((unsigned char *)b.data, b.len, &out, NULL), 0);
    ck_assert_uint_eq(out.snapshot.index, 500);
    ck_assert_uint_eq(out.snapshot.conf.n, 2);
    ck_assert_uint_eq(out.snapshot.conf.servers[1].role, RAFT_LEARNER);
    frame_msg_release(&out);
    sk_buf_release(&b);
}
END_TEST

/* Every truncation and a trailing byte are refused, never read past. */
START_TEST(msg_decode_refuses_truncated_and_trailing_bytes)
{
    struct raft_entry ents[2];
    struct raft_msg m, out;
    struct sk_buf b = SK_BUF_INIT;
    unsigned char *copy;
    size_t n;

    sample_msg(&m, ents);
    frame_msg_encode(&b, &m);
    for (n = 0; n < b.len; n++) {
        copy = malloc(n ? n : 1);
        memcpy(copy, b.data, n);
        ck_assert_msg(frame_msg_decode(copy, n, &out, NULL) < 0, "length %zu accepted", n);
        free(copy);
    }
    sk_buf_putc(&b, 0);
    ck_assert_int_lt(frame_msg_decode((unsigned char *)b.data, b.len, &out, NULL), 0);
    sk_buf_release(&b);
}
END_TEST

START_TEST(msg_decode_refuses_huge_entry_count)
{
    struct raft_msg m, out;
    struct sk_buf b = SK_BUF_INIT;

    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND;
    frame_msg_encode(&b, &m);
    /* n_entries sits after 3 bytes and 8 u64s. */
    memset(b.data + 3 + 64, 0xff, 4);
    ck_assert_int_lt(frame_msg_decode((unsigned char *)b.data, b.len, &out, NULL), 0);
    sk_buf_release(&b);
}
END_TEST

START_TEST(hello_round_trip_and_malformed)
{
    struct frame_hello h = {.id = 77}, out;
    struct sk_buf b = SK_BUF_INIT;

    memset(h.nonce, 0xab, sizeof(h.nonce));
    strcpy(h.name, "m1");
    strcpy(h.addr, "127.0.0.1:2380");
    frame_hello_encode(&b, &h);
    ck_assert_int_eq(frame_hello_decode((unsigned char *)b.data, b.len, &out, NULL), 0);
    ck_assert_uint_eq(out.id, 77);
    ck_assert_str_eq(out.name, "m1");
    ck_assert_str_eq(out.addr, "127.0.0.1:2380");
    ck_assert_mem_eq(out.nonce, h.nonce, sizeof(h.nonce));
    ck_assert_int_lt(frame_hello_decode((unsigned char *)b.data, b.len - 1, &out, NULL), 0);
    b.data[8 + FRAME_NONCE_SIZE] = 100; /* name length past the end */
    ck_assert_int_lt(frame_hello_decode((unsigned char *)b.data, b.len, &out, NULL), 0);
    sk_buf_release(&b);
}
END_TEST

START_TEST(auth_mac_depends_on_secret_role_and_nonces)
{
    struct frame_hello d = {.id = 1}, l = {.id = 2};
    unsigned char a[FRAME_MAC_SIZE], b[FRAME_MAC_SIZE];

    memset(d.nonce, 1, sizeof(d.nonce));
    memset(l.nonce, 2, sizeof(l.nonce));
    frame_auth_mac("secret-secret-16", 16, 'C', &d, &l, a);
    frame_auth_mac("secret-secret-16", 16, 'C', &d, &l, b);
    ck_assert(frame_mac_equal(a, b));
    frame_auth_mac("secret-secret-16", 16, 'S', &d, &l, b);
    ck_assert(!frame_mac_equal(a, b));
    frame_auth_mac("other-secret-016", 16, 'C', &d, &l, b);
    ck_assert(!frame_mac_equal(a, b));
    l.nonce[31] ^= 1;
    frame_auth_mac("secret-secret-16", 16, 'C', &d, &l, b);
    ck_assert(!frame_mac_equal(a, b));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("store_frame");
    TCase *tc = tcase_create("codec");

    tcase_add_test(tc, header_round_trip_and_crc);
    tcase_add_test(tc, header_refuses_bad_magic_version_type_length);
    tcase_add_test(tc, msg_round_trip_keeps_every_field);
    tcase_add_test(tc, snapshot_msg_carries_its_configuration);
    tcase_add_test(tc, msg_decode_refuses_truncated_and_trailing_bytes);
    tcase_add_test(tc, msg_decode_refuses_huge_entry_count);
    tcase_add_test(tc, hello_round_trip_and_malformed);
    tcase_add_test(tc, auth_mac_depends_on_secret_role_and_nonces);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
