/* Fuzz target: what the server and clients do with bytes off a socket.
 * The input is cut into chunks (sizes taken from the input itself, so
 * the fuzzer explores every split), fed to the line framer, and every
 * line is split into arguments as the verbs do, and parsed as a response
 * status line as the clients do. */
#include "api/client.h"
#include "api/kv.h"
#include "api/server.h"
#include "lib/alloc.h"
#include "lib/line.h"
#include "t/fuzz/fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_LINE 4096

static void
split_line(const char *line, size_t len)
{
    char *copy = sk_strndup(line, len);
    char *argv[API_KV_MAX_ARGS];
    uint32_t lens[API_KV_MAX_ARGS];
    int n = api_kv_split(copy, argv, lens, API_KV_MAX_ARGS);

    if (n > API_KV_MAX_ARGS)
        abort();
    for (int i = 0; i < n; i++) {
        if (lens[i] > len)
            abort(); /* decoding never grows a word */
    }
    free(copy);
    copy = sk_strndup(line, len);
    n = api_args_split(copy, argv, API_KV_MAX_ARGS);
    for (int i = 0; i < n; i++) {
        if (strlen(argv[i]) > len)
            abort();
    }
    free(copy);
}

static void
parse_status(const char *line)
{
    struct api_resp resp;
    struct sk_err err = {0};

    if (api_resp_parse_status(line, &resp, &err) >= 0)
        api_resp_release(&resp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sk_linebuf lb;
    size_t off = 0;

    sk_linebuf_init(&lb, FUZZ_MAX_LINE);
    while (off < size) {
        size_t chunk = 1 + data[off] % 64;

        if (chunk > size - off)
            chunk = size - off;
        sk_linebuf_feed(&lb, data + off, chunk);
        off += chunk;
        for (;;) {
            struct sk_err err = {0};
            char *line;
            size_t len;
            int rc = sk_linebuf_next(&lb, &line, &len, &err);

            if (rc == 0 || (rc < 0 && err.code == EMSGSIZE))
                break;
            if (rc < 0)
                continue;
            if (len > FUZZ_MAX_LINE || memchr(line, '\n', len) || strlen(line) != len)
                abort(); /* framing promised a bounded line without NUL or newline */
            split_line(line, len);
            parse_status(line);
        }
    }
    sk_linebuf_release(&lb);
    return 0;
}
