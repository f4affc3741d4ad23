/* SPDX-License-Identifier: MIT */
/* The in-place JSON reader (convert/jsonv.c) against jansson: it must accept
 * exactly what json_loadb(..., JSON_REJECT_DUPLICATES, ...) accepts and give
 * the same tree, and its errors must say where without quoting the input.
 * Every table case and every JSON fixture goes through same_as_jansson(). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "jsonv.h"
#include "testutil.h"

/* What the failing assertion was comparing, for the message. */
static const char *diff_what = "";

/* Whether text[0..len) is a jansson integer (no fraction, no exponent). */
static bool number_is_integer(const char *text, size_t len)
{
    return !memchr(text, '.', len) && !memchr(text, 'e', len) && !memchr(text, 'E', len);
}

static void same_tree(const json_t *j, const jv *v)
{
    ck_assert_msg(v != NULL, "%s: jsonv lacks a value jansson has", diff_what);
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *value;
        const jv *m = v->child;

        ck_assert_msg(v->type == JV_OBJECT, "%s: not an object", diff_what);
        ck_assert_msg(v->n == json_object_size(j), "%s: %zu members, jansson %zu",
                      diff_what, v->n, json_object_size(j));
        /* jansson iterates in insertion order, which is the member order. */
        json_object_foreach((json_t *)j, key, value)
        {
            ck_assert_msg(m != NULL, "%s: too few members", diff_what);
            ck_assert_msg(m->key != NULL && strcmp(m->key, key) == 0, "%s: key differs",
                          diff_what);
            ck_assert_msg(jv_get(v, key) == m, "%s: jv_get finds another member",
                          diff_what);
            same_tree(value, m);
            m = m->next;
        }
        ck_assert_msg(m == NULL, "%s: too many members", diff_what);
        ck_assert_uint_eq(jv_size(v), 0);
        ck_assert_ptr_null(jv_first(v));
        break;
    }
    case JSON_ARRAY: {
        size_t i, count = 0;
        const jv *e;

        ck_assert_msg(v->type == JV_ARRAY, "%s: not an array", diff_what);
        ck_assert_msg(jv_size(v) == json_array_size(j), "%s: %zu elements, jansson %zu",
                      diff_what, jv_size(v), json_array_size(j));
        jv_foreach(v, i, e)
        {
            ck_assert_ptr_null(e->key);
            same_tree(json_array_get(j, i), e);
            count++;
        }
        ck_assert_uint_eq(count, json_array_size(j));
        break;
    }
    case JSON_STRING:
        ck_assert_msg(v->type == JV_STRING, "%s: not a string", diff_what);
        ck_assert_msg(v->len == json_string_length(j),
                      "%s: string of %zu bytes, jansson %zu", diff_what, v->len,
                      json_string_length(j));
        ck_assert_msg(memcmp(v->s, json_string_value(j), v->len) == 0,
                      "%s: string bytes differ", diff_what);
        ck_assert_msg(v->s[v->len] == '\0', "%s: string not NUL-terminated", diff_what);
        ck_assert_ptr_eq(jv_str(v), v->s);
        break;
    case JSON_INTEGER: {
        char text[64];

        ck_assert_msg(v->type == JV_NUMBER, "%s: not a number", diff_what);
        ck_assert_msg(v->len > 0 && v->len < sizeof(text),
                      "%s: integer text of %zu bytes", diff_what, v->len);
        ck_assert_msg(number_is_integer(v->s, v->len), "%s: jansson has an integer",
                      diff_what);
        memcpy(text, v->s, v->len);
        text[v->len] = '\0';
        errno = 0;
        ck_assert_msg(strtoll(text, NULL, 10) == json_integer_value(j) && errno == 0,
                      "%s: integer differs", diff_what);
        ck_assert_msg(cse__jv_number(v) == (double)json_integer_value(j),
                      "%s: cse__jv_number differs", diff_what);
        break;
    }
    case JSON_REAL: {
        char *text, *end;

        ck_assert_msg(v->type == JV_NUMBER, "%s: not a number", diff_what);
        ck_assert_msg(!number_is_integer(v->s, v->len), "%s: jansson has a real",
                      diff_what);
        /* The text is exactly the number: strtod stops at its end. */
        text = malloc(v->len + 1);
        ck_assert_ptr_nonnull(text);
        memcpy(text, v->s, v->len);
        text[v->len] = '\0';
        ck_assert_msg(strtod(text, &end) == json_real_value(j) && end == text + v->len,
                      "%s: real differs", diff_what);
        free(text);
        ck_assert_msg(cse__jv_number(v) == json_real_value(j),
                      "%s: cse__jv_number differs", diff_what);
        break;
    }
    case JSON_TRUE: ck_assert_msg(v->type == JV_TRUE, "%s: not true", diff_what); break;
    case JSON_FALSE:
        ck_assert_msg(v->type == JV_FALSE, "%s: not false", diff_what);
        break;
    case JSON_NULL: ck_assert_msg(v->type == JV_NULL, "%s: not null", diff_what); break;
    }
}

/* Whether s[pos] is a NUL byte right after a number or a literal. jansson
 * drops such a byte: it ungets the byte that ends the token, and its stream
 * then takes the NUL in its look-ahead buffer for "nothing buffered", so
 * "[1\0]" is [1] to jansson (2.14). jsonv refuses every NUL byte. */
static bool nul_jansson_drops(const char *s, size_t n, size_t pos)
{
    char c = pos > 0 && pos < n && s[pos] == '\0' ? s[pos - 1] : ' ';
    return (c >= '0' && c <= '9') || c == 'e' || c == 'l';
}

/* Parses a copy of json[0..len) with jansson and jsonv, asserts that both
 * accept or both reject and that accepted trees are equal. The copy is
 * exactly len bytes, so reading past it shows under valgrind and ASan.
 * The one known difference, NUL bytes that jansson drops, is taken out and
 * the rest compared. Returns whether jansson accepted it. */
static bool same_as_jansson(const char *json, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    char *src = malloc(len ? len : 1), *copy = malloc(len ? len : 1);
    size_t n = len;
    jv_arena a = {0};
    jv_error e;
    jv *v;

    ck_assert_ptr_nonnull(src);
    ck_assert_ptr_nonnull(copy);
    memcpy(src, json, len);
    for (;;) {
        memcpy(copy, src, n);
        v = cse__jv_parse(&a, copy, n, 0, &e);
        if (v != NULL || j == NULL || !nul_jansson_drops(src, n, e.position))
            break;
        memmove(src + e.position, src + e.position + 1, n - e.position - 1);
        n--;
    }
    ck_assert_msg(j != NULL || v == NULL, "%s: jsonv accepts what jansson rejects (%s)",
                  diff_what, je.text);
    ck_assert_msg(j == NULL || v != NULL,
                  "%s: jsonv rejects what jansson accepts (%s at %zu)", diff_what,
                  e.text ? e.text : "no text", e.position);
    if (v == NULL) {
        ck_assert_int_ne(e.status, JV_OK);
        ck_assert_ptr_nonnull(e.text);
        ck_assert_int_ge(e.line, 1);
        ck_assert_int_ge(e.column, 1);
        ck_assert_uint_le(e.position, len);
    } else {
        ck_assert_int_eq(e.status, JV_OK);
        same_tree(j, v);
    }
    json_decref(j);
    cse__jv_arena_free(&a);
    free(copy);
    free(src);
    return j != NULL;
}

enum { REJECT, ACCEPT };

struct jcase {
    const char *name;
    const char *json;
    size_t len;
    int verdict; /* what jansson does, so the table says what each case is */
};

#define C(name, lit, verdict)                                                            \
    {                                                                                    \
        name, lit, sizeof(lit) - 1, verdict                                              \
    }

static const struct jcase cases[] = {
    /* Escapes. */
    C("escape quote", "[\"\\\"\"]", ACCEPT),
    C("escape backslash", "[\"\\\\\"]", ACCEPT),
    C("escape slash", "[\"\\/\"]", ACCEPT),
    C("escape b", "[\"\\b\"]", ACCEPT),
    C("escape f", "[\"\\f\"]", ACCEPT),
    C("escape n", "[\"\\n\"]", ACCEPT),
    C("escape r", "[\"\\r\"]", ACCEPT),
    C("escape t", "[\"\\t\"]", ACCEPT),
    C("every escape", "[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"]", ACCEPT),
    C("escapes only", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", ACCEPT),
    C("u0041", "[\"\\u0041\"]", ACCEPT),
    C("u00e9", "[\"caf\\u00e9\"]", ACCEPT),
    C("u00E9 upper hex", "[\"caf\\u00E9\"]", ACCEPT),
    C("u20ac", "[\"\\u20ac\"]", ACCEPT),
    C("u007f", "[\"\\u007f\"]", ACCEPT),
    C("u0080", "[\"\\u0080\"]", ACCEPT),
    C("u07ff", "[\"\\u07ff\"]", ACCEPT),
    C("u0800", "[\"\\u0800\"]", ACCEPT),
    C("uffff", "[\"\\uffff\"]", ACCEPT),
    C("u0001", "[\"\\u0001\"]", ACCEPT),
    C("surrogate pair", "[\"\\ud83d\\ude00\"]", ACCEPT),
    C("surrogate pair upper", "[\"x\\uD83D\\uDE00y\"]", ACCEPT),
    C("surrogate pair max", "[\"\\udbff\\udfff\"]", ACCEPT),
    C("surrogate pair min", "[\"\\ud800\\udc00\"]", ACCEPT),
    C("escapes in a key", "{\"\\u00e9\\n\\ud83d\\ude00\":1}", ACCEPT),
    C("lone high surrogate", "[\"\\ud83d\"]", REJECT),
    C("lone high surrogate mid", "[\"\\ud83dx\"]", REJECT),
    C("lone low surrogate", "[\"\\ude00\"]", REJECT),
    C("reversed surrogates", "[\"\\ude00\\ud83d\"]", REJECT),
    C("high then high", "[\"\\ud83d\\ud83d\"]", REJECT),
    C("high then BMP", "[\"\\ud83d\\u0041\"]", REJECT),
    C("high then escape n", "[\"\\ud83d\\n\"]", REJECT),
    C("high then bad hex", "[\"\\ud83d\\udz00\"]", REJECT),
    C("high at end of input", "[\"\\ud83d", REJECT),
    C("u0000", "[\"\\u0000\"]", REJECT),
    C("u0000 in key", "{\"a\\u0000b\":1}", REJECT),
    C("surrogate pair then u0000", "[\"\\ud83d\\ude00\\u0000\"]", REJECT),
    C("short u escape", "[\"\\u00\"]", REJECT),
    C("u escape at end", "[\"\\u00", REJECT),
    C("bad hex", "[\"\\u12G4\"]", REJECT),
    C("capital U", "[\"\\U0041\"]", REJECT),
    C("escape x", "[\"\\x41\"]", REJECT),
    C("escape apostrophe", "[\"\\'\"]", REJECT),
    C("escape 0", "[\"\\0\"]", REJECT),
    C("escape a", "[\"\\a\"]", REJECT),
    C("backslash at end", "[\"\\", REJECT),
    C("escaped then duplicate", "{\"\\u0041\":1,\"A\":2}", REJECT),
    C("escaped slash duplicate", "{\"a\\/b\":1,\"a/b\":2}", REJECT),
    /* Raw control characters and NUL. */
    C("raw tab in string", "[\"a\tb\"]", REJECT),
    C("raw newline in string", "[\"a\nb\"]", REJECT),
    C("raw 0x01 in string", "[\"a\x01\"]", REJECT),
    C("raw 0x1f in string", "[\"a\x1f\"]", REJECT),
    C("raw DEL in string", "[\"a\x7f\"]", ACCEPT),
    C("raw control in key", "{\"a\x01\":1}", REJECT),
    C("raw NUL in string", "[\"a\0b\"]", REJECT),
    C("raw NUL in key", "{\"a\0\":1}", REJECT),
    C("raw NUL after value", "[1]\0", REJECT),
    C("raw NUL before value", "\0[1]", REJECT),
    C("raw NUL between values", "[1,\0 2]", REJECT),
    C("raw NUL only", "\0", REJECT),
    C("raw control outside string", "[1,\x01 2]", REJECT),
    /* jansson drops one NUL right after a number or literal (see
     * nul_jansson_drops), and no other. */
    C("NUL after number", "[1\0]", ACCEPT),
    C("NUL after real", "{\"a\":1.5\0}", ACCEPT),
    C("NUL after number, then more", "[1\0,2\0,true\0]", ACCEPT),
    C("NUL after literal", "[true\0,false\0,null\0]", ACCEPT),
    C("two NULs after number", "[1\0\0]", REJECT),
    C("NUL after string", "[\"a\"\0]", REJECT),
    C("NUL after space", "[1 \0]", REJECT),
    C("NUL inside number",
      "[12\0"
      "3]",
      REJECT),
    C("NUL inside literal", "[tr\0ue]", REJECT),
    C("NUL after minus", "[-\0 1]", REJECT),
    /* UTF-8. */
    C("valid 2-byte", "[\"\xc3\xa9\"]", ACCEPT),
    C("valid 2-byte min", "[\"\xc2\x80\"]", ACCEPT),
    C("valid 3-byte", "[\"\xe2\x82\xac\"]", ACCEPT),
    C("valid 3-byte min", "[\"\xe0\xa0\x80\"]", ACCEPT),
    C("valid before surrogates", "[\"\xed\x9f\xbf\"]", ACCEPT),
    C("valid after surrogates", "[\"\xee\x80\x80\"]", ACCEPT),
    C("valid U+FFFF", "[\"\xef\xbf\xbf\"]", ACCEPT),
    C("valid 4-byte", "[\"\xf0\x9f\x98\x80\"]", ACCEPT),
    C("valid 4-byte min", "[\"\xf0\x90\x80\x80\"]", ACCEPT),
    C("valid U+10FFFF", "[\"\xf4\x8f\xbf\xbf\"]", ACCEPT),
    C("valid 4-byte in key", "{\"\xf0\x9f\x98\x80\":\"\xf0\x9f\x98\x80\"}", ACCEPT),
    C("mixed UTF-8 and escapes", "[\"\xc3\xa9\\u00e9\xf0\x9f\x98\x80\\ud83d\\ude00\"]",
      ACCEPT),
    C("overlong C0 80", "[\"\xc0\x80\"]", REJECT),
    C("overlong C1 BF", "[\"\xc1\xbf\"]", REJECT),
    C("overlong E0 80 80", "[\"\xe0\x80\x80\"]", REJECT),
    C("overlong E0 9F BF", "[\"\xe0\x9f\xbf\"]", REJECT),
    C("overlong F0 80 80 80", "[\"\xf0\x80\x80\x80\"]", REJECT),
    C("overlong F0 8F BF BF", "[\"\xf0\x8f\xbf\xbf\"]", REJECT),
    C("surrogate ED A0 80", "[\"\xed\xa0\x80\"]", REJECT),
    C("surrogate ED BF BF", "[\"\xed\xbf\xbf\"]", REJECT),
    C("above U+10FFFF F4 90 80 80", "[\"\xf4\x90\x80\x80\"]", REJECT),
    C("F5 lead", "[\"\xf5\x80\x80\x80\"]", REJECT),
    C("F8 lead", "[\"\xf8\x88\x80\x80\x80\"]", REJECT),
    C("FE byte", "[\"\xfe\"]", REJECT),
    C("FF byte", "[\"\xff\"]", REJECT),
    C("truncated 2-byte", "[\"\xc3\"]", REJECT),
    C("truncated 3-byte", "[\"\xe2\x82\"]", REJECT),
    C("truncated 4-byte", "[\"\xf0\x9f\x98\"]", REJECT),
    C("truncated 4-byte at end", "[\"\xf0\x9f\x98", REJECT),
    C("truncated 2-byte at end", "[\"\xc3", REJECT),
    C("lone continuation 80", "[\"\x80\"]", REJECT),
    C("lone continuation BF", "[\"a\xbf\"]", REJECT),
    C("continuation not 10xxxxxx", "[\"\xe2\x28\xa1\"]", REJECT),
    C("invalid UTF-8 in key", "{\"\xc0\x80\":1}", REJECT),
    C("UTF-8 outside a string", "[\xc3\xa9]", REJECT),
    C("UTF-8 after the value", "[1]\xc3\xa9", REJECT),
    C("invalid UTF-8 after the value", "[1]\xff", REJECT),
    /* Numbers. */
    C("zero", "[0]", ACCEPT),
    C("minus zero", "[-0]", ACCEPT),
    C("minus zero real", "[-0.0]", ACCEPT),
    C("1.5e3", "[1.5e3]", ACCEPT),
    C("1E+2", "[1E+2]", ACCEPT),
    C("1e-2", "[1e-2]", ACCEPT),
    C("0e0", "[0e0]", ACCEPT),
    C("0.0e-0", "[0.0e-0]", ACCEPT),
    C("-1e-400 underflow", "[-1e-400]", ACCEPT),
    C("1e-400 underflow", "[1e-400]", ACCEPT),
    C("denormal", "[4.9e-324]", ACCEPT),
    C("smallest normal", "[2.2250738585072014e-308]", ACCEPT),
    C("largest double", "[1.7976931348623157e308]", ACCEPT),
    C("rounds to infinity", "[1.7976931348623159e308]", REJECT),
    C("1e400 overflow", "[1e400]", REJECT),
    C("huge negative exponent", "[1e-99999999999999999999]", ACCEPT),
    C("huge exponent", "[1e99999999999999999999]", REJECT),
    C("-1e400 overflow", "[-1e400]", REJECT),
    C("1e999999999999", "[1e999999999999]", REJECT),
    C("int64 max", "[9223372036854775807]", ACCEPT),
    C("int64 min", "[-9223372036854775808]", ACCEPT),
    C("int64 max + 1", "[9223372036854775808]", REJECT),
    C("int64 min - 1", "[-9223372036854775809]", REJECT),
    C("huge integer",
      "[99999999999999999999999999999999999999999999999999999999999999999999999]",
      REJECT),
    C("huge integer as real",
      "[99999999999999999999999999999999999999999999999999999999999.0]", ACCEPT),
    C("long fraction",
      "[0."
      "1234567890123456789012345678901234567890123456789012345678901234567890123456789]",
      ACCEPT),
    C("long fraction with exponent",
      "[-3.14159265358979323846264338327950288419716939937510582097494459230781640628e-"
      "5]",
      ACCEPT),
    C("long zero fraction",
      "[0."
      "00000000000000000000000000000000000000000000000000000000000000000000000000000001]",
      ACCEPT),
    C("numbers in an object", "{\"a\":-12,\"b\":3.25,\"c\":6e2}", ACCEPT),
    C("01", "[01]", REJECT),
    C("-01", "[-01]", REJECT),
    C("00", "[00]", REJECT),
    C("1.", "[1.]", REJECT),
    C("1.e5", "[1.e5]", REJECT),
    C(".5", "[.5]", REJECT),
    C("-", "[-]", REJECT),
    C("- 1", "[- 1]", REJECT),
    C("+1", "[+1]", REJECT),
    C("1e", "[1e]", REJECT),
    C("1e+", "[1e+]", REJECT),
    C("1e5.5", "[1e5.5]", REJECT),
    C("0x10", "[0x10]", REJECT),
    C("Infinity", "[Infinity]", REJECT),
    C("-Infinity", "[-Infinity]", REJECT),
    C("NaN", "[NaN]", REJECT),
    C("number at end of input", "[12", REJECT),
    C("minus at end of input", "[-", REJECT),
    C("two numbers", "[1 2]", REJECT),
    /* Literals. */
    C("literals", "[true,false,null]", ACCEPT),
    C("literal values", "{\"t\":true,\"f\":false,\"n\":null}", ACCEPT),
    C("tru", "[tru]", REJECT),
    C("t", "[t]", REJECT),
    C("fals", "[fals]", REJECT),
    C("nul", "[nul]", REJECT),
    C("True", "[True]", REJECT),
    C("NULL", "[NULL]", REJECT),
    C("truee", "[truee]", REJECT),
    C("nulll", "[nulll]", REJECT),
    C("truefalse", "[truefalse]", REJECT),
    C("true at end", "[true", REJECT),
    C("tr at end", "[tr", REJECT),
    C("fals at end", "[fals", REJECT),
    C("undefined", "[undefined]", REJECT),
    /* Roots: json_loadb without JSON_DECODE_ANY wants an array or object. */
    C("root number", "1", REJECT),
    C("root minus zero", "-0", REJECT),
    C("root string", "\"x\"", REJECT),
    C("root true", "true", REJECT),
    C("root false", "false", REJECT),
    C("root null", "null", REJECT),
    C("root number with space", " 12 ", REJECT),
    /* Duplicate keys. */
    C("duplicate", "{\"a\":1,\"a\":2}", REJECT),
    C("duplicate of an object", "{\"a\":{},\"a\":{}}", REJECT),
    C("duplicate nested", "{\"x\":{\"a\":1,\"b\":2,\"a\":3}}", REJECT),
    C("same key in two objects", "[{\"a\":1},{\"a\":2}]", ACCEPT),
    C("same key nested", "{\"a\":{\"a\":{\"a\":1}}}", ACCEPT),
    C("keys sharing a prefix", "{\"a\":1,\"ab\":2,\"abc\":3,\"b\":4}", ACCEPT),
    C("empty key", "{\"\":1}", ACCEPT),
    C("empty key twice", "{\"\":1,\"\":2}", REJECT),
    /* Empty containers. */
    C("empty object", "{}", ACCEPT),
    C("empty array", "[]", ACCEPT),
    C("empty in empty", "[{},[],{\"\":[]}]", ACCEPT),
    C("empty string", "[\"\"]", ACCEPT),
    C("empty with space", "{ \n }", ACCEPT),
    C("array with space", "[ \t ]", ACCEPT),
    /* Trailing data. */
    C("two documents", "[1] [2]", REJECT),
    C("two documents on two lines", "{\"a\":1}\n{\"b\":2}\n", REJECT),
    C("letter after", "{}x", REJECT),
    C("comma after", "[1],", REJECT),
    C("closer after", "[1]]", REJECT),
    C("newline after", "[1]\n", ACCEPT),
    C("CRLF after", "[1]\r\n", ACCEPT),
    C("comment after", "[1]//x", REJECT),
    C("comment before", "/*x*/[1]", REJECT),
    /* Commas, colons, brackets. */
    C("trailing comma array", "[1,]", REJECT),
    C("trailing comma object", "{\"a\":1,}", REJECT),
    C("comma only", "[,]", REJECT),
    C("leading comma", "[,1]", REJECT),
    C("double comma", "[1,,2]", REJECT),
    C("object comma only", "{,}", REJECT),
    C("missing colon", "{\"a\" 1}", REJECT),
    C("missing value", "{\"a\":}", REJECT),
    C("key only", "{\"a\"}", REJECT),
    C("double colon", "{\"a\"::1}", REJECT),
    C("equals for colon", "{\"a\"=1}", REJECT),
    C("number key", "{1:2}", REJECT),
    C("bare key", "{a:1}", REJECT),
    C("single-quoted key", "{'a':1}", REJECT),
    C("single-quoted string", "['a']", REJECT),
    C("missing comma", "{\"a\":1 \"b\":2}", REJECT),
    C("colon in array", "[1:2]", REJECT),
    C("mismatched closers", "[}", REJECT),
    C("mismatched closers 2", "{]", REJECT),
    C("mismatched nested", "[{]}", REJECT),
    C("closer only", "]", REJECT),
    C("brace only", "}", REJECT),
    C("unclosed array", "[", REJECT),
    C("unclosed object", "{", REJECT),
    C("unclosed after value", "[1", REJECT),
    C("unclosed after comma", "[1,", REJECT),
    C("unclosed object member", "{\"a\":1", REJECT),
    C("unclosed after key", "{\"a\"", REJECT),
    C("unclosed after colon", "{\"a\":", REJECT),
    C("unclosed string", "[\"abc", REJECT),
    C("unclosed key", "{\"ab", REJECT),
    /* Whitespace. */
    C("all whitespace kinds", " \t\r\n[ \t\r\n1 \t\r\n, \t\r\n2 \t\r\n] \t\r\n", ACCEPT),
    C("whitespace in object", "\n{\r\n\t\"a\"\t:\n1\r,\"b\" : [ ] }\n", ACCEPT),
    C("form feed", "[1,\f2]", REJECT),
    C("vertical tab", "[1,\v2]", REJECT),
    C("no-break space", "\xc2\xa0[]", REJECT),
    C("line separator", "[1,\xe2\x80\xa8 2]", REJECT),
    C("empty input", "", REJECT),
    C("blank input", " ", REJECT),
    C("whitespace input", " \n\t\r\n", REJECT),
    /* Byte order marks. */
    C("UTF-8 BOM", "\xef\xbb\xbf{}", REJECT),
    C("UTF-8 BOM alone", "\xef\xbb\xbf", REJECT),
    C("UTF-8 BOM after space", " \xef\xbb\xbf{}", REJECT),
    C("UTF-8 BOM in a string", "[\"\xef\xbb\xbf\"]", ACCEPT),
    C("UTF-16LE BOM", "\xff\xfe[\0]\0", REJECT),
    C("UTF-16BE BOM", "\xfe\xff\0[\0]", REJECT),
    C("UTF-16LE BOM alone", "\xff\xfe", REJECT),
    C("UTF-16 without BOM", "[\0]\0", REJECT),
    /* A realistic resource. */
    C("resource",
      "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"identifier\":[{\"system\":"
      "\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"9990000018\"}],"
      "\"name\":[{\"family\":\"Quillfeather\",\"given\":[\"Zeph\",\"\\u00c9lodie\"]}],"
      "\"birthDate\":\"1970-01-01\",\"active\":true,\"deceasedBoolean\":false,"
      "\"multipleBirthInteger\":2,\"extension\":null}",
      ACCEPT),
};

START_TEST(test_jsonv_table_matches_jansson)
{
    const struct jcase *c = &cases[_i];
    json_error_t je;
    json_t *j = json_loadb(c->json, c->len, JSON_REJECT_DUPLICATES, &je);

    diff_what = c->name;
    /* The table says what jansson does, so that each case tests what it names. */
    ck_assert_msg((j != NULL) == (c->verdict == ACCEPT), "%s: jansson %s it", c->name,
                  j ? "accepts" : "rejects");
    json_decref(j);
    ck_assert_int_eq(same_as_jansson(c->json, c->len), c->verdict == ACCEPT);
}
END_TEST

/* depth nested arrays (objects when objects) around leaf. */
static char *nested(size_t depth, bool objects, const char *leaf, size_t *len)
{
    size_t l = strlen(leaf), opener = objects ? 5 : 1, n = depth * (opener + 1) + l,
           k = 0;
    char *s = malloc(n + 1);

    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < depth; i++) {
        memcpy(s + k, objects ? "{\"a\":" : "[", opener);
        k += opener;
    }
    memcpy(s + k, leaf, l);
    k += l;
    for (size_t i = 0; i < depth; i++)
        s[k++] = objects ? '}' : ']';
    s[k] = '\0';
    *len = k;
    return s;
}

/* jansson allows 2048 levels, and counts a scalar as a level of its own. */
START_TEST(test_jsonv_nesting_matches_jansson)
{
    static const struct {
        size_t depth;
        bool objects;
        const char *leaf;
        bool accept;
    } t[] = {
        {2047, false, "", true},     {2048, false, "", true},
        {2049, false, "", false},    {2047, false, "1", true},
        {2048, false, "1", false},   {2048, false, "\"s\"", false},
        {2047, false, "[]", true},   {2048, false, "[]", false},
        {2047, true, "{}", true},    {2048, true, "{}", false},
        {2047, true, "1", true},     {2048, true, "null", false},
        {2047, true, "\"s\"", true}, {100000, false, "", false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t len;
        char *s = nested(t[i].depth, t[i].objects, t[i].leaf, &len);
        char what[80];

        snprintf(what, sizeof(what), "%zu %s around '%s'", t[i].depth,
                 t[i].objects ? "objects" : "arrays", t[i].leaf);
        diff_what = what;
        ck_assert_msg(same_as_jansson(s, len) == t[i].accept, "%s: verdict", what);
        free(s);
    }
}
END_TEST

/* Appends s to buf at *k. */
static void put(char *buf, size_t *k, const char *s)
{
    size_t n = strlen(s);
    memcpy(buf + *k, s, n);
    *k += n;
}

/* An object with n distinct keys k0..k(n-1), then one more member with
 * key k<dup> when dup < n. */
static char *object_with_keys(size_t n, size_t dup, size_t *len)
{
    char *s = malloc(32 * (n + 2)), member[32];
    size_t k = 0;

    ck_assert_ptr_nonnull(s);
    put(s, &k, "{");
    for (size_t i = 0; i <= n; i++) {
        if (i == n && dup >= n)
            break;
        snprintf(member, sizeof(member), "%s\"k%zu\":%zu", i ? "," : "", i == n ? dup : i,
                 i);
        put(s, &k, member);
    }
    put(s, &k, "}");
    *len = k;
    return s;
}

START_TEST(test_jsonv_duplicate_keys_match_jansson)
{
    /* Around the point where jsonv stops comparing keys pairwise. */
    static const struct {
        size_t n, dup;
    } t[] = {{1, 0},  {2, 0},   {2, 1},   {15, 0},  {15, 14},    {16, 0},  {16, 15},
             {17, 0}, {17, 16}, {18, 17}, {40, 0},  {40, 39},    {40, 20}, {1000, 999},
             {1, 9},  {16, 99}, {17, 99}, {40, 99}, {1000, 9999}};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t len;
        char *s = object_with_keys(t[i].n, t[i].dup, &len);
        char what[80];

        snprintf(what, sizeof(what), "%zu keys, then key %zu", t[i].n, t[i].dup);
        diff_what = what;
        ck_assert_msg(same_as_jansson(s, len) == (t[i].dup >= t[i].n), "%s: verdict",
                      what);
        free(s);
    }
}
END_TEST

START_TEST(test_jsonv_duplicate_key_text)
{
    char buf[] = "{\"a\":1,\"b\":2,\"a\":3}";
    jv_arena a = {0};
    jv_error e;

    ck_assert_ptr_null(cse__jv_parse(&a, buf, sizeof(buf) - 1, 0, &e));
    ck_assert_int_eq(e.status, JV_ESYNTAX);
    ck_assert_str_eq(e.text, "duplicate object key");
    cse__jv_arena_free(&a);
}
END_TEST

START_TEST(test_jsonv_large_documents_match_jansson)
{
    /* Enough values to need several arena chunks. */
    size_t n = 20000, k = 0;
    char *s = malloc(32 * n + 64);

    ck_assert_ptr_nonnull(s);
    put(s, &k, "[");
    for (size_t i = 0; i < n; i++) {
        char item[32];
        snprintf(item, sizeof(item), "%s{\"v%zu\":[%zu,\"x\"]}", i ? "," : "", i % 7, i);
        put(s, &k, item);
    }
    put(s, &k, "]");
    diff_what = "20000 objects";
    ck_assert(same_as_jansson(s, k));
    /* A long string with escapes spread through it. */
    k = 0;
    put(s, &k, "[\"");
    for (size_t i = 0; i < n / 4; i++)
        put(s, &k, i % 3 ? "ab\\u00e9" : "\\n\xf0\x9f\x98\x80");
    put(s, &k, "\"]");
    diff_what = "long string";
    ck_assert(same_as_jansson(s, k));
    free(s);
}
END_TEST

/* Calls fn on path and every file under it; returns how many files. */
static size_t walk(const char *path,
                   void (*fn)(const char *path, const char *data, size_t n))
{
    struct stat st;
    size_t count = 0;

    ck_assert_msg(stat(path, &st) == 0, "cannot stat %s", path);
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;

        ck_assert_ptr_nonnull(d);
        while ((e = readdir(d)) != NULL) {
            char sub[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            count += walk(sub, fn);
        }
        closedir(d);
    } else if (S_ISREG(st.st_mode)) {
        FILE *f = fopen(path, "rb");
        char *data = malloc((size_t)st.st_size + 1);

        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(data);
        ck_assert_uint_eq(fread(data, 1, (size_t)st.st_size, f), (size_t)st.st_size);
        fclose(f);
        fn(path, data, (size_t)st.st_size);
        free(data);
        count = 1;
    }
    return count;
}

static size_t fixture_docs, fixture_accepted;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void fixture(const char *path, const char *data, size_t n)
{
    static char what[4200];

    if (ends_with(path, ".json")) {
        snprintf(what, sizeof(what), "%s", path);
        diff_what = what;
        fixture_accepted += same_as_jansson(data, n);
        fixture_docs++;
    } else if (ends_with(path, ".ndjson")) {
        size_t line = 1;
        for (size_t start = 0; start < n; line++) {
            const char *nl = memchr(data + start, '\n', n - start);
            size_t end = nl ? (size_t)(nl - data) : n;
            snprintf(what, sizeof(what), "%s line %zu", path, line);
            diff_what = what;
            fixture_accepted += same_as_jansson(data + start, end - start);
            fixture_docs++;
            start = end + 1;
        }
    }
}

START_TEST(test_jsonv_fixtures_match_jansson)
{
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s/test-fixtures", test_srcdir());
    fixture_docs = fixture_accepted = 0;
    ck_assert_uint_gt(walk(dir, fixture), 0);
    /* The fixtures hold both good and bad JSON; both kinds must be seen. */
    ck_assert_uint_ge(fixture_docs, 50);
    ck_assert_uint_ge(fixture_accepted, 40);
    ck_assert_uint_lt(fixture_accepted, fixture_docs);
}
END_TEST

/* Parses lit in place with max_depth, which must fail; returns the error. */
static jv_error error_of(const char *lit, size_t len, size_t max_depth)
{
    char *buf = malloc(len ? len : 1);
    jv_arena a = {0};
    jv_error e;

    ck_assert_ptr_nonnull(buf);
    memcpy(buf, lit, len);
    ck_assert_msg(cse__jv_parse(&a, buf, len, max_depth, &e) == NULL, "parsed");
    ck_assert_int_ne(e.status, JV_OK);
    ck_assert_ptr_nonnull(e.text);
    cse__jv_arena_free(&a);
    free(buf);
    return e;
}

#define ERROR_OF(lit) error_of(lit, sizeof(lit) - 1, 0)

START_TEST(test_jsonv_error_line_and_column)
{
    jv_error e = ERROR_OF("{\n  \"a\": 1,\n  \"b\": x\n}");

    ck_assert_int_eq(e.status, JV_ESYNTAX);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 8);
    ck_assert_uint_eq(e.position, 19);

    /* Escaped newlines (which unescaping writes into the buffer) and CRLF. */
    e = ERROR_OF("[\"a\\nb\\nc\",\r\n\r\n  tru]");
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 3);
    ck_assert_uint_eq(e.position, 17);

    /* Inside a string on line 3: the bad byte itself. */
    e = ERROR_OF("[\n1,\n\"ab\xff\"]");
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 4);
    ck_assert_str_eq(e.text, "invalid UTF-8");

    /* The first byte of the input. */
    e = ERROR_OF("x");
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(e.column, 1);
    ck_assert_uint_eq(e.position, 0);
}
END_TEST

START_TEST(test_jsonv_error_texts)
{
    ck_assert_str_eq(ERROR_OF("").text, "empty input: no JSON value");
    ck_assert_str_eq(ERROR_OF(" \n").text, "empty input: no JSON value");
    ck_assert_str_eq(ERROR_OF("{\"a\":[1,2").text,
                     "empty or truncated JSON (premature end of input)");
    ck_assert_str_eq(ERROR_OF("[\"a\0\"]").text, "NUL byte");
    ck_assert_str_eq(ERROR_OF("[\"\\u0000\"]").text, "NUL byte");
    ck_assert_str_eq(ERROR_OF("[1e400]").text, "number out of range");
    ck_assert_str_eq(ERROR_OF("[1] [2]").text, "extra data after the JSON value");
    ck_assert_ptr_nonnull(strstr(ERROR_OF("[\"a\tb\"]").text, "control character"));
    ck_assert_ptr_nonnull(strstr(ERROR_OF("\xef\xbb\xbf[]").text, "byte order mark"));
    ck_assert_ptr_nonnull(strstr(ERROR_OF("\xff\xfe[\0]\0").text, "UTF-16"));
}
END_TEST

/* The error is at or right after a planted NHS number; the text must
 * not contain any of it, nor any byte of the input that is not ASCII. */
START_TEST(test_jsonv_error_text_never_quotes_input)
{
    static const struct {
        const char *s;
        size_t len;
    } t[] = {
#define P(lit) {lit, sizeof(lit) - 1}
        P("{\"nhs\":9990000018x}"),
        P("{\"nhs\":\"9990000018"),
        P("{\"nhs\":\"9990000018\\"),
        P("{\"9990000018\"}"),
        P("{\"9990000018\" 1}"),
        P("[9990000018 9990000018]"),
        P("{\"a\":\"9990000018\x01\"}"),
        P("{\"a\":\"9990000018\t\"}"),
        P("{\"a\":\"9990000018\0\"}"),
        P("{\"a\":\"\xff"
          "9990000018\"}"),
        P("{\"a\":\"9990000018\xc3\"}"),
        P("{\"a\":\"9990000018\\q\"}"),
        P("{\"a\":\"9990000018\\ud800\"}"),
        P("{\"a\":\"9990000018\\u00\"}"),
        P("{\"9990000018\":1,\"9990000018\":2}"),
        P("[99900000189990000018999]"),
        P("[9990000018e999999]"),
        P("{\"a\":tru9990000018}"),
        P("{\"a\":1}9990000018"),
        P("[09990000018]"),
        P("{9990000018:1}"),
        P("[\"9990000018\",]"),
        P("\xef\xbb\xbf[\"9990000018\"]"),
#undef P
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        jv_error e = error_of(t[i].s, t[i].len, 0);
        ck_assert_msg(strstr(e.text, "999") == NULL && strstr(e.text, "0018") == NULL,
                      "case %zu quotes the input: %s", i, e.text);
        for (const char *c = e.text; *c; c++)
            ck_assert_msg((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f,
                          "case %zu: byte 0x%02x in the text", i, (unsigned char)*c);
    }
}
END_TEST

START_TEST(test_jsonv_max_depth)
{
    char ok3[] = "[[[]]]", ok3o[] = "{\"a\":{\"b\":{}}}", mixed[] = "[{\"a\":[]}]";
    jv_arena a = {0};
    jv_error e;
    size_t len;
    char *deep;

    ck_assert_ptr_nonnull(cse__jv_parse(&a, ok3, strlen(ok3), 3, &e));
    ck_assert_ptr_nonnull(cse__jv_parse(&a, ok3o, strlen(ok3o), 3, &e));
    ck_assert_ptr_nonnull(cse__jv_parse(&a, mixed, strlen(mixed), 3, &e));
    cse__jv_arena_free(&a);

    e = error_of("[[[[]]]]", 8, 3);
    ck_assert_int_eq(e.status, JV_EDEPTH);
    ck_assert_str_eq(e.text, "nested too deep");
    ck_assert_uint_eq(e.position, 3);
    e = error_of("{\"a\":{\"b\":[{}]}}", 16, 3);
    ck_assert_int_eq(e.status, JV_EDEPTH);
    e = error_of("[[]]", 4, 1);
    ck_assert_int_eq(e.status, JV_EDEPTH);
    /* The limit counts arrays and objects; a scalar in the innermost one is
     * fine. */
    {
        char leaf[] = "[[[1]]]", leaf_o[] = "{\"a\":{\"b\":{\"c\":\"s\"}}}";
        ck_assert_ptr_nonnull(cse__jv_parse(&a, leaf, strlen(leaf), 3, &e));
        ck_assert_ptr_nonnull(cse__jv_parse(&a, leaf_o, strlen(leaf_o), 3, &e));
        cse__jv_arena_free(&a);
    }

    /* 0, and any limit above jansson's, mean jansson's 2048. */
    deep = nested(2049, false, "", &len);
    ck_assert_int_eq(error_of(deep, len, 0).status, JV_EDEPTH);
    ck_assert_int_eq(error_of(deep, len, 100000).status, JV_EDEPTH);
    free(deep);
    /* jansson counts a scalar as a level of its own against its 2048. */
    deep = nested(2048, false, "1", &len);
    e = error_of(deep, len, 0);
    ck_assert_int_eq(e.status, JV_EDEPTH);
    ck_assert_uint_eq(e.position, 2048);
    ck_assert_int_eq(error_of(deep, len, 100000).status, JV_EDEPTH);
    free(deep);
    deep = nested(100000, true, "", &len);
    ck_assert_int_eq(error_of(deep, len, 0).status, JV_EDEPTH);
    free(deep);
}
END_TEST

START_TEST(test_jsonv_arena_reused_for_many_documents)
{
    jv_arena a = {0};
    char buf[4096 * 8];

    for (int d = 0; d < 1000; d++) {
        /* Sizes vary, some needing more than one chunk, so chunks are both
         * kept and dropped by the resets. */
        size_t items = (size_t)(d % 10 == 0 ? 4000 : d % 50), k = 0, i;
        const jv *root, *arr, *e;
        jv_error err;

        k = (size_t)snprintf(buf, sizeof(buf),
                             "{\"doc\":%d,\"name\":\"d\\u00e9%d\",\"items\":[", d, d);
        for (i = 0; i < items; i++)
            k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%zu", i ? "," : "", i);
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "]}");
        ck_assert_uint_lt(k, sizeof(buf));

        root = cse__jv_parse(&a, buf, k, 0, &err);
        ck_assert_ptr_nonnull(root);
        ck_assert_double_eq(cse__jv_number(jv_get(root, "doc")), d);
        ck_assert_uint_eq(jv_get(root, "name")->len,
                          strlen(jv_str(jv_get(root, "name"))));
        ck_assert_int_eq(strncmp(jv_str(jv_get(root, "name")), "d\xc3\xa9", 3), 0);
        arr = jv_get(root, "items");
        ck_assert_uint_eq(jv_size(arr), items);
        jv_foreach(arr, i, e) ck_assert_double_eq(cse__jv_number(e), (double)i);
        ck_assert_uint_eq(i, items);

        /* A failed parse in between leaves the arena usable. */
        if (d % 100 == 7) {
            char bad[] = "{\"a\":[1,2,";
            ck_assert_ptr_null(cse__jv_parse(&a, bad, strlen(bad), 0, &err));
        }
    }
    cse__jv_arena_free(&a);
    ck_assert_ptr_null(a.chunks);
    ck_assert_ptr_null(a.stack);
    /* Freeing twice, and freeing an unused arena, do nothing. */
    cse__jv_arena_free(&a);
    cse__jv_arena_reset(&a);
}
END_TEST

START_TEST(test_jsonv_accessors_on_wrong_types)
{
    char buf[] =
        "{\"o\":{\"k\":1},\"a\":[10,20],\"s\":\"str\",\"n\":2.5,\"z\":null,\"t\":true}";
    jv_arena a = {0};
    jv_error e;
    const jv *root = cse__jv_parse(&a, buf, strlen(buf), 0, &e), *o, *arr, *s, *n, *z, *t,
             *v;
    const jv *all[6];
    size_t i;

    ck_assert_ptr_nonnull(root);
    o = jv_get(root, "o");
    arr = jv_get(root, "a");
    s = jv_get(root, "s");
    n = jv_get(root, "n");
    z = jv_get(root, "z");
    t = jv_get(root, "t");
    all[0] = o, all[1] = arr, all[2] = s, all[3] = n, all[4] = z, all[5] = t;
    for (i = 0; i < 6; i++)
        ck_assert_ptr_nonnull(all[i]);

    /* The right types. */
    ck_assert_ptr_nonnull(jv_get(o, "k"));
    ck_assert_uint_eq(jv_size(arr), 2);
    ck_assert_double_eq(cse__jv_number(jv_at(arr, 1)), 20);
    ck_assert_str_eq(jv_str(s), "str");
    ck_assert_double_eq(cse__jv_number(n), 2.5);
    ck_assert_int_eq(z->type, JV_NULL);
    ck_assert_int_eq(t->type, JV_TRUE);

    /* Missing keys, indexes past the end. */
    ck_assert_ptr_null(jv_get(root, "missing"));
    ck_assert_ptr_null(jv_get(root, ""));
    ck_assert_ptr_null(jv_get(o, "K"));
    ck_assert_ptr_null(jv_get(o, "kk"));
    ck_assert_ptr_null(jv_at(arr, 2));
    ck_assert_ptr_null(jv_at(arr, (size_t)-1));

    /* Every accessor on every other type, and on NULL. */
    for (i = 0; i < 6; i++) {
        const jv *x = all[i];
        size_t count = 0, idx;
        if (x != o)
            ck_assert_ptr_null(jv_get(x, "k"));
        if (x != arr) {
            ck_assert_uint_eq(jv_size(x), 0);
            ck_assert_ptr_null(jv_at(x, 0));
            ck_assert_ptr_null(jv_first(x));
            jv_foreach(x, idx, v) count++;
            ck_assert_uint_eq(count, 0);
        }
        if (x != s)
            ck_assert_ptr_null(jv_str(x));
        if (x != n)
            ck_assert_double_eq(cse__jv_number(x), 0);
        ck_assert(jv_is_object(x) == (x == o));
        ck_assert(jv_is_array(x) == (x == arr));
        ck_assert(jv_is_string(x) == (x == s));
        ck_assert(jv_is_number(x) == (x == n));
    }
    ck_assert_ptr_null(jv_get(NULL, "k"));
    ck_assert_ptr_null(jv_at(NULL, 0));
    ck_assert_ptr_null(jv_first(NULL));
    ck_assert_ptr_null(jv_str(NULL));
    ck_assert_uint_eq(jv_size(NULL), 0);
    ck_assert_double_eq(cse__jv_number(NULL), 0);
    ck_assert(!jv_is_object(NULL) && !jv_is_array(NULL) && !jv_is_string(NULL) &&
              !jv_is_number(NULL));
    {
        size_t count = 0, idx;
        jv_foreach((const jv *)NULL, idx, v) count++;
        ck_assert_uint_eq(count, 0);
    }
    cse__jv_arena_free(&a);
}
END_TEST

START_TEST(test_jsonv_number_values)
{
    char buf[] = "[0,-0,1.5e3,1E+2,-1e-400,9223372036854775807,-9223372036854775808,0.1,"
                 "-2.5E-3,123456789012345678901234567890.5,"
                 "0.1000000000000000000000000000000000000000000000000000000000000000001]";
    static const double want[] = {0,
                                  0,
                                  1500,
                                  100,
                                  -0.0,
                                  9223372036854775807.0,
                                  -9223372036854775807.0 - 1,
                                  0.1,
                                  -0.0025,
                                  123456789012345678901234567890.5,
                                  0.1};
    static const char *text[] = {
        "0",
        "-0",
        "1.5e3",
        "1E+2",
        "-1e-400",
        "9223372036854775807",
        "-9223372036854775808",
        "0.1",
        "-2.5E-3",
        "123456789012345678901234567890.5",
        "0.1000000000000000000000000000000000000000000000000000000000000000001"};
    jv_arena a = {0};
    jv_error e;
    const jv *root = cse__jv_parse(&a, buf, strlen(buf), 0, &e), *v;
    size_t i;

    ck_assert_ptr_nonnull(root);
    ck_assert_uint_eq(jv_size(root), sizeof(want) / sizeof(want[0]));
    jv_foreach(root, i, v)
    {
        ck_assert(jv_is_number(v));
        /* The text is the number as written, up to its last byte. */
        ck_assert_uint_eq(v->len, strlen(text[i]));
        ck_assert_int_eq(memcmp(v->s, text[i], v->len), 0);
        ck_assert_msg(cse__jv_number(v) == want[i], "number %zu: %.17g", i,
                      cse__jv_number(v));
    }
    ck_assert(signbit(cse__jv_number(jv_at(root, 4))));
    cse__jv_arena_free(&a);
}
END_TEST

START_TEST(test_jsonv_strings_unescaped_in_place)
{
    char buf[] = "{\"k\\u00e9y\":\"a\\\"b\\\\c\\/"
                 "d\\be\\ff\\ng\\rh\\ti\\u0041\\u20ac\\ud83d\\ude00\"}";
    const char want[] = "a\"b\\c/d\be\ff\ng\rh\tiA\xe2\x82\xac\xf0\x9f\x98\x80";
    jv_arena a = {0};
    jv_error e;
    const jv *root = cse__jv_parse(&a, buf, strlen(buf), 0, &e), *v;

    ck_assert_ptr_nonnull(root);
    v = jv_get(root, "k\xc3\xa9y");
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(v->len, sizeof(want) - 1);
    ck_assert_int_eq(memcmp(v->s, want, sizeof(want)), 0);
    /* In place: the values point into the buffer. */
    ck_assert(v->s > buf && v->s < buf + sizeof(buf));
    ck_assert(v->key > buf && v->key < buf + sizeof(buf));
    cse__jv_arena_free(&a);
}
END_TEST

/* The first byte at s[0..n) that a string cannot pass over, byte by byte. */
static size_t plain_run_reference(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != '"' && s[i] != '\\' && (unsigned char)s[i] >= 0x20 &&
           (unsigned char)s[i] < 0x80)
        i++;
    return i;
}

START_TEST(test_jsonv_plain_run_stops_at_the_first_special_byte)
{
    char buf[24];

    /* Each byte value at each position of every length, the word-wide part
     * and the tail. */
    for (size_t n = 0; n <= sizeof(buf); n++)
        for (size_t pos = 0; pos < n; pos++)
            for (int c = 0; c < 256; c++) {
                memset(buf, 'a', sizeof(buf));
                buf[pos] = (char)c;
                ck_assert_uint_eq(jv_plain_run(buf, n), plain_run_reference(buf, n));
            }
    /* Every pair of adjacent bytes, inside the first word, across the
     * boundary of two words and into the second: a borrow from one byte into
     * the next must not move the stop. */
    for (size_t pos = 5; pos <= 9; pos++)
        for (int c = 0; c < 256; c++)
            for (int d = 0; d < 256; d++) {
                memset(buf, ' ', sizeof(buf));
                buf[pos] = (char)c;
                buf[pos + 1] = (char)d;
                ck_assert_uint_eq(jv_plain_run(buf, 16), plain_run_reference(buf, 16));
            }
}
END_TEST

START_TEST(test_jsonv_error_may_be_null)
{
    char bad[] = "[1,]", good[] = "[1]";
    jv_arena a = {0};

    ck_assert_ptr_null(cse__jv_parse(&a, bad, strlen(bad), 0, NULL));
    ck_assert_ptr_nonnull(cse__jv_parse(&a, good, strlen(good), 0, NULL));
    cse__jv_arena_free(&a);
}
END_TEST

Suite *make_jsonv_suite(void)
{
    Suite *s = suite_create("jsonv");
    TCase *tc = tcase_create("core");
    TCase *diff = tcase_create("jansson");

    tcase_add_loop_test(diff, test_jsonv_table_matches_jansson, 0,
                        (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(diff, test_jsonv_nesting_matches_jansson);
    tcase_add_test(diff, test_jsonv_duplicate_keys_match_jansson);
    tcase_add_test(diff, test_jsonv_large_documents_match_jansson);
    tcase_add_test(diff, test_jsonv_fixtures_match_jansson);
    /* The fixtures and large documents are slow under valgrind. */
    tcase_set_timeout(diff, 120);
    suite_add_tcase(s, diff);

    tcase_add_test(tc, test_jsonv_duplicate_key_text);
    tcase_add_test(tc, test_jsonv_error_line_and_column);
    tcase_add_test(tc, test_jsonv_error_texts);
    tcase_add_test(tc, test_jsonv_error_text_never_quotes_input);
    tcase_add_test(tc, test_jsonv_max_depth);
    tcase_add_test(tc, test_jsonv_arena_reused_for_many_documents);
    tcase_add_test(tc, test_jsonv_accessors_on_wrong_types);
    tcase_add_test(tc, test_jsonv_number_values);
    tcase_add_test(tc, test_jsonv_strings_unescaped_in_place);
    tcase_add_test(tc, test_jsonv_plain_run_stops_at_the_first_special_byte);
    tcase_add_test(tc, test_jsonv_error_may_be_null);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
