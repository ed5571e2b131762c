#ifndef SK_YAML_EMIT_H
#define SK_YAML_EMIT_H

/* JSON (jansson) to YAML for `-o yaml`, in the block style kubectl
 * prints (go-yaml v2 through sigs.k8s.io/yaml):
 *
 *     apiVersion: v1
 *     metadata:
 *       labels:
 *         app: web
 *     spec:
 *       containers:
 *       - image: nginx
 *         name: web
 *
 * Mapping keys are sorted (bytewise) as kubectl's are; indentation is 2
 * spaces and a sequence under a key starts at the key's column; empty
 * mappings and sequences print as {} and [].
 *
 * Strings are plain when that reads back as the same string under YAML
 * 1.1 (lib/yaml.h's resolver and others): a string that would resolve to
 * null, a boolean or a number ("yes", "1", "0x1f", "~", "", "1e3") is
 * double-quoted, as is one with control characters or Unicode line
 * breaks (escaped); one with leading or trailing blanks, a leading
 * indicator (- ? : , [ ] { } # & * ! | > ' " % @ `), ": " or " #" is
 * single-quoted; a multi-line string becomes a literal block (|, |- or
 * |+ for its trailing newlines) unless its first line starts with a
 * blank or a line is all blanks, then double-quoted. Reals print with
 * the fewest digits that read back exactly, and always look like reals
 * ("3.0"). A key longer than 1000 characters is written as an explicit
 * "? key" / ": value" pair (readers refuse longer implicit keys). So the
 * output parses back with sk_yaml_to_json() to a JSON
 * value equal to the input. */

#include "buf.h"

#include <jansson.h>

/* Append v (any JSON value) as one YAML document, ending in a newline,
 * without a "---" marker. NULL prints as "null". */
void sk_yaml_emit(const json_t *v, struct sk_buf *out);

#endif
