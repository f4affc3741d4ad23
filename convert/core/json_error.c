/* SPDX-License-Identifier: MIT */
/* jansson's parse errors translated into safe English, once for every reader.
 *
 * jansson's own error text may quote the input near the error ("near
 * '9990000018<TAB>'"), and the input is a patient's record. So the text is
 * never passed on: the reason comes from json_error_code() and, where that is
 * too coarse, from the byte at the error position, which is inspected but
 * never shown. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

static bool is_blank(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
            return false;
    return true;
}

static bool is_json_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* jansson reports a raw control character inside a string at its own
 * position, and one outside a string as an invalid token just before the
 * position. Whitespace there is only a control character when jansson's code
 * says it stopped inside a string. */
static const char *control_text(const json_error_t *e, const char *buf, size_t len)
{
    size_t pos = e->position > 0 ? (size_t)e->position : 0;
    bool in_string = strncmp(e->text, "control character", 17) == 0;
    unsigned char c;

    if (pos < len) {
        c = (unsigned char)buf[pos];
        if (c == 0)
            return "NUL byte";
        if (c < 0x20 && (in_string || !is_json_space(c)))
            return "invalid JSON syntax: control character (0x00-0x1f must be escaped)";
    }
    if (pos > 0 && pos <= len) {
        c = (unsigned char)buf[pos - 1];
        if (c == 0)
            return "NUL byte";
        if (c < 0x20 && !is_json_space(c))
            return "invalid JSON syntax: control character (0x00-0x1f must be escaped)";
    }
    return NULL;
}

const char *cse__json_error_text(const json_error_t *e, const char *buf, size_t len)
{
    const char *t;

    if (buf == NULL)
        len = 0;
    if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') ||
                     (buf[0] == '\xfe' && buf[1] == '\xff')))
        return "UTF-16 is not supported: FHIR JSON must be UTF-8";
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        return "a byte order mark (BOM) is not allowed: JSON must be UTF-8 without one";
    if (e == NULL)
        return "invalid JSON";
    switch (json_error_code(e)) {
    case json_error_out_of_memory: return "out of memory";
    case json_error_stack_overflow: return "nested too deep";
    case json_error_invalid_utf8: return "invalid UTF-8";
    case json_error_premature_end_of_input:
        if (buf != NULL && is_blank(buf, len))
            return "empty input: no JSON value";
        return "empty or truncated JSON (premature end of input)";
    case json_error_end_of_input_expected:
        if (buf != NULL && (t = control_text(e, buf, len)) != NULL)
            return t;
        return "extra data after the JSON value";
    case json_error_null_character:
    case json_error_null_byte_in_key: return "NUL byte";
    case json_error_duplicate_key: return "duplicate object key";
    case json_error_numeric_overflow: return "number out of range";
    case json_error_invalid_syntax:
        if (buf != NULL && (t = control_text(e, buf, len)) != NULL)
            return t;
        return "invalid JSON syntax";
    case json_error_cannot_open_file: return "cannot open the file";
    default: return "invalid JSON";
    }
}
