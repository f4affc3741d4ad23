/* SPDX-License-Identifier: MIT */
/* A pull reader over libxml2's SAX2 push parser (see gp2gp_xml.h).
 *
 * The SAX2 handler is libxml2's own (so a DOCTYPE, its entity declarations and
 * their checks behave exactly as under xmlTextReader) with the content
 * callbacks replaced: elements, text, CDATA, comments, processing
 * instructions and entity references become queued nodes, and no tree is
 * built. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>
#include <zlib.h>

#include "gp2gp_xml.h"

#define HL7_NS "urn:hl7-org:v3"
#define CHUNK 65536
#define SLICE 512
#define BLOCK 65536
/* Input parsed ahead in one go once the caller has what it asked for (see
 * feed()). */
#define AHEAD 16384
/* Errors held for the caller while parsing ahead; past this the parser has
 * stopped long ago (it stops at the first error). */
#define MAX_HELD 8

/* An error libxml2 reported while the parser was ahead of the caller, held
 * until the caller reaches the place where it would have heard of it. */
struct held_error {
    xmlError e; /* a copy (xmlCopyError) */
    unsigned group;
    unsigned flags;                 /* cse__xr_error_flags() when it was reported */
    bool global;                    /* it came through the global handler */
    xmlStructuredErrorFunc handler; /* that handler, and its context */
    void *handler_ctx;
};

struct block {
    struct block *next;
    size_t size, used;
    char data[];
};

struct cse__xr {
    xmlParserCtxtPtr ctxt;
    xmlSAXHandler sax;
    /* input */
    int fd;
    const char *mem;
    size_t mem_len, mem_off;
    z_stream *z;         /* inflating gzip from fd */
    unsigned char *z_in; /* CHUNK bytes of compressed input */
    bool z_end;          /* at the end of a gzip member */
    cse_code in_code;    /* why the input could not be read */
    const char *in_msg;  /* static text */
    char in_buf[160];
    char *chunk;
    const char *win; /* the block of input being parsed */
    size_t win_len, win_off;
    bool done;   /* the last chunk was given to the parser */
    bool ending; /* the parser is being told the input has ended */
    bool failed; /* the input could not be read, or no memory */
    bool seen_element;
    /* errors */
    cse__xml_error_fn on_error;
    void *error_arg;
    /* arena: blocks kept for reuse; reset when nothing in it is needed */
    struct block *blocks, *cur_block;
    int pin;            /* an expansion is in progress */
    struct block *mark; /* the block holding the root of that expansion */
    /* the queue of nodes read from the input and not yet delivered */
    cse__xnode *head, *tail;
    cse__xnode *cur;
    cse__xnode end; /* the end node left current by an expansion */
    int depth;      /* elements open in the parser */
    int *lines;     /* start-tag lines by depth, for end nodes */
    size_t cap_lines;
    const xmlChar *hl7; /* the HL7 namespace in the parser's dictionary */
    bool bare_hl7;      /* elements in no namespace count as HL7 */
    /* a run of character data not yet queued */
    char *text;
    size_t text_len, text_kept, text_cap, max_text;
    int text_line;
    bool in_text;
    /* Batches (see feed()): the nodes read from one slice of input up to the
     * first that queued something form a group; group is the open one,
     * group_first its first node (NULL while empty). */
    unsigned group, delivered_group;
    cse__xnode *group_first;
    int line_seen; /* the parser's line as the caller would see it */
    bool ahead;    /* parsing ahead: errors are held */
    struct held_error held[MAX_HELD];
    int n_held;
    bool replaying;
    unsigned replay_flags;
    xmlStructuredErrorFunc ahead_global; /* the global handler hold_global stands for */
    void *ahead_global_ctx;
};

/* ---- arena -------------------------------------------------------------- */

static void *alloc_slow(cse__xr *x, size_t n);

/* n bytes, 16-aligned: a node or two fit in what is left of the current
 * block nearly always, so that case is inline. */
static inline void *alloc(cse__xr *x, size_t n)
{
    struct block *b = x->cur_block;

    n = (n + 15) & ~(size_t)15;
    if (b && b->size - b->used >= n) {
        b->used += n;
        return b->data + b->used - n;
    }
    return alloc_slow(x, n);
}

static void *alloc_slow(cse__xr *x, size_t n)
{
    struct block *b = x->cur_block;

    while (b && b->size - b->used < n) {
        b = b->next;
        if (b)
            b->used = 0;
    }
    if (b == NULL) {
        size_t size = n > BLOCK ? n : BLOCK;
        if ((b = malloc(sizeof(*b) + size)) == NULL) {
            x->failed = true;
            return NULL;
        }
        b->size = size;
        b->used = 0;
        /* Keep it after the current block, so reuse follows the same order. */
        if (x->cur_block) {
            b->next = x->cur_block->next;
            x->cur_block->next = b;
        } else {
            b->next = x->blocks;
            x->blocks = b;
        }
    }
    x->cur_block = b;
    b->used += n;
    return b->data + b->used - n;
}

static void arena_reset(cse__xr *x)
{
    x->cur_block = x->blocks;
    if (x->blocks)
        x->blocks->used = 0;
}

static struct block *block_of(const cse__xr *x, const void *p)
{
    for (struct block *b = x->blocks; b; b = b->next) {
        if ((const char *)p >= b->data && (const char *)p < b->data + b->size)
            return b;
        if (b == x->cur_block)
            break;
    }
    return x->blocks;
}

/* During an expansion only the blocks from the one holding its root are in
 * use: the ones before it go to the end of the chain, for reuse. */
static void release_before(cse__xr *x, struct block *mark)
{
    struct block *first = x->blocks, *last = NULL, *end;

    if (mark == NULL || mark == first)
        return;
    for (struct block *b = first; b && b != mark; b = b->next)
        last = b;
    if (last == NULL || last->next != mark)
        return;
    for (end = mark; end->next; end = end->next)
        ;
    last->next = NULL;
    end->next = first;
    x->blocks = mark;
}

static char *copy(cse__xr *x, const void *s, size_t len)
{
    char *p = alloc(x, len + 1);

    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* ---- queue -------------------------------------------------------------- */

static cse__xnode *push(cse__xr *x, int type, int depth, int line)
{
    cse__xnode *n = alloc(x, sizeof(*n));

    if (n == NULL) {
        xmlStopParser(x->ctxt);
        return NULL;
    }
    memset(n, 0, sizeof(*n));
    n->type = type;
    n->depth = depth;
    n->line = line;
    n->group = x->group;
    if (x->group_first == NULL)
        x->group_first = n;
    if (x->tail)
        x->tail->next = n;
    else
        x->head = n;
    x->tail = n;
    return n;
}

static int parser_line(const cse__xr *x)
{
    return x->ctxt && x->ctxt->input ? x->ctxt->input->line : 0;
}

/* Queues the run of character data read so far as one text node. */
static void flush_text(cse__xr *x)
{
    cse__xnode *n;

    if (!x->in_text)
        return;
    x->in_text = false;
    if ((n = push(x, XML_READER_TYPE_TEXT, x->depth, x->text_line)) == NULL)
        return;
    n->len = x->text_len;
    n->text = copy(x, x->text ? x->text : "", x->text_kept);
    if (n->text == NULL)
        xmlStopParser(x->ctxt);
}

/* Keeps an error reported while parsing ahead, for replay(). */
static void hold(cse__xr *x, cse__xml_error_ptr e, bool global, xmlStructuredErrorFunc fn,
                 void *fn_ctx)
{
    struct held_error *h;

    if (e == NULL || x->n_held == MAX_HELD)
        return;
    h = &x->held[x->n_held];
    memset(&h->e, 0, sizeof(h->e));
    if (xmlCopyError((xmlErrorPtr)e, &h->e) != 0) {
        xmlResetError(&h->e);
        x->failed = true;
        return;
    }
    h->group = x->group;
    h->flags = cse__xr_error_flags(x);
    h->global = global;
    h->handler = fn;
    h->handler_ctx = fn_ctx;
    x->n_held++;
}

/* Hands the caller the held errors of the groups up to group, in order,
 * as they would have reached it had the parser not been ahead. */
static void replay(cse__xr *x, unsigned group)
{
    int i = 0;

    while (i < x->n_held && x->held[i].group <= group) {
        struct held_error *h = &x->held[i];
        x->replaying = true;
        x->replay_flags = h->flags;
        if (!h->global && x->on_error)
            x->on_error(x->error_arg, &h->e);
        else if (h->global && h->handler)
            h->handler(h->handler_ctx, &h->e);
        x->replaying = false;
        xmlResetError(&h->e);
        i++;
    }
    if (i > 0) {
        memmove(x->held, x->held + i, (size_t)(x->n_held - i) * sizeof(x->held[0]));
        x->n_held -= i;
    }
}

/* The global handler while parsing ahead: errors raised without the parser
 * (its input and encoding layers) are held too. */
static void hold_global(void *ctx, cse__xml_error_ptr e)
{
    cse__xr *x = ctx;

    hold(x, e, true, x->ahead_global, x->ahead_global_ctx);
}

/* Tells the caller of an error, at once or, while parsing ahead, when it
 * reaches the place it would have heard of it. */
static void tell(cse__xr *x, cse__xml_error_ptr e)
{
    if (x->ahead)
        hold(x, e, false, NULL, NULL);
    else if (x->on_error)
        x->on_error(x->error_arg, e);
}

/* An error ends the document. Like xmlTextReader, which runs a little ahead
 * of its caller, the caller hears of it at once, and its next read fails:
 * the input is fed in small slices, so that is near where the error is. */
static void report_error(cse__xr *x, cse__xml_error_ptr e)
{
    tell(x, e);
    xmlStopParser(x->ctxt);
}

/* ---- SAX2 callbacks ----------------------------------------------------- */

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
                     const xmlChar *uri, int n_ns, const xmlChar **ns, int n_attrs,
                     int n_defaulted, const xmlChar **attrs)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;
    const xmlChar *cur = x->ctxt->input ? x->ctxt->input->cur : NULL;
    cse__xnode *n;

    flush_text(x);
    x->seen_element = true;
    if ((n = push(x, XML_READER_TYPE_ELEMENT, x->depth, parser_line(x))) == NULL)
        return;
    n->name = (const char *)local;
    n->uri = (const char *)uri;
    n->hl7 = uri != NULL ? uri == x->hl7 || strcmp((const char *)uri, HL7_NS) == 0
                         : x->bare_hl7;
    /* The parser calls this with the start tag read up to "/>" or ">". */
    n->empty = cur != NULL && cur[0] == '/';
    if (n_attrs > 0) {
        /* The attributes and their values in one block. */
        size_t size = (size_t)n_attrs * sizeof(*n->attrs);
        char *v;
        for (int i = 0; i < n_attrs; i++)
            size += (size_t)(attrs[5 * i + 4] - attrs[5 * i + 3]) + 1;
        if ((n->attrs = alloc(x, size)) == NULL) {
            xmlStopParser(x->ctxt);
            return;
        }
        v = (char *)(n->attrs + n_attrs);
        for (int i = 0; i < n_attrs; i++) {
            const xmlChar **a = attrs + 5 * i;
            size_t len = (size_t)(a[4] - a[3]), o = 0;
            /* libxml2 leaves '&' as "&#38;" for the tree builder to decode. */
            for (size_t k = 0; k < len;) {
                const xmlChar *amp = memchr(a[3] + k, '&', len - k);
                size_t run = amp ? (size_t)(amp - (a[3] + k)) + 1 : len - k;
                memcpy(v + o, a[3] + k, run);
                o += run;
                k += run;
                if (amp && len - (k - 1) >= 5 && memcmp(amp, "&#38;", 5) == 0)
                    k += 4;
            }
            v[o] = '\0';
            n->attrs[i].name = (const char *)a[0];
            n->attrs[i].uri = (const char *)a[2];
            n->attrs[i].value = v;
            n->attrs[i].len = o;
            if (o > n->attr_max)
                n->attr_max = o;
            v += o + 1;
        }
        n->n_attrs = n_attrs;
    }
    if (!n->empty) {
        if ((size_t)x->depth >= x->cap_lines) {
            size_t cap = x->cap_lines ? x->cap_lines * 2 : 64;
            int *l = realloc(x->lines, cap * sizeof(*l));
            if (l == NULL) {
                x->failed = true;
                xmlStopParser(x->ctxt);
                return;
            }
            x->lines = l;
            x->cap_lines = cap;
        }
        x->lines[x->depth] = n->line;
        x->depth++;
    }
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
                   const xmlChar *uri)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;
    cse__xnode *n;
    const cse__xnode *t = x->tail;

    flush_text(x);
    /* An empty element has its end here too: it was queued as empty. */
    if (t && t->type == XML_READER_TYPE_ELEMENT && t->empty && t->name == (char *)local &&
        t->depth == x->depth)
        return;
    if (x->depth > 0)
        x->depth--;
    if ((n = push(x, XML_READER_TYPE_END_ELEMENT, x->depth, x->lines[x->depth])) == NULL)
        return;
    n->name = (const char *)local;
    n->uri = (const char *)uri;
    n->hl7 = uri != NULL ? uri == x->hl7 || strcmp((const char *)uri, HL7_NS) == 0
                         : x->bare_hl7;
}

static void on_text(void *ctx, const xmlChar *v, int len)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;

    if (len <= 0)
        return;
    if (!x->in_text) {
        x->in_text = true;
        x->text_len = x->text_kept = 0;
        x->text_line = parser_line(x);
    }
    if (x->text_len + (size_t)len > XML_MAX_TEXT_LENGTH) {
        /* What libxml2's tree builder says (and does) at this size. */
        static char msg[] =
            "Memory allocation failed : xmlSAX2Characters: huge text node\n";
        xmlError e;
        memset(&e, 0, sizeof(e));
        e.domain = XML_FROM_PARSER;
        e.code = XML_ERR_NO_MEMORY;
        e.level = XML_ERR_FATAL;
        e.line = parser_line(x);
        e.message = msg;
        report_error(x, &e);
        return;
    }
    /* Past the cap the text is counted, not kept: the caller refuses it. */
    if (x->text_kept + (size_t)len <= x->max_text + 1) {
        if (x->text_kept + (size_t)len > x->text_cap) {
            size_t cap = x->text_cap ? x->text_cap : 4096;
            char *t;
            while (cap < x->text_kept + (size_t)len)
                cap *= 2;
            if ((t = realloc(x->text, cap)) == NULL) {
                x->failed = true;
                xmlStopParser(x->ctxt);
                return;
            }
            x->text = t;
            x->text_cap = cap;
        }
        memcpy(x->text + x->text_kept, v, (size_t)len);
        x->text_kept += (size_t)len;
    }
    x->text_len += (size_t)len;
}

static void on_cdata(void *ctx, const xmlChar *v, int len)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;
    cse__xnode *n;

    flush_text(x);
    if ((n = push(x, XML_READER_TYPE_CDATA, x->depth, parser_line(x))) == NULL)
        return;
    n->len = (size_t)len;
    if ((size_t)len <= x->max_text && (n->text = copy(x, v, (size_t)len)) == NULL)
        xmlStopParser(x->ctxt);
    if (n->text == NULL)
        n->text = "";
}

static void on_comment(void *ctx, const xmlChar *v)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;

    flush_text(x);
    push(x, XML_READER_TYPE_COMMENT, x->depth, parser_line(x));
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;

    flush_text(x);
    push(x, XML_READER_TYPE_PROCESSING_INSTRUCTION, x->depth, parser_line(x));
}

static void on_reference(void *ctx, const xmlChar *name)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;
    cse__xnode *n;

    flush_text(x);
    if ((n = push(x, XML_READER_TYPE_ENTITY_REFERENCE, x->depth, parser_line(x))) != NULL)
        n->name = "";
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext,
                               const xmlChar *sys)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;

    xmlSAX2InternalSubset(ctx, name, ext, sys);
    flush_text(x);
    /* No line: like xmlTextReader's, it is read where the parser is. */
    push(x, XML_READER_TYPE_DOCUMENT_TYPE, 0, 0);
}

static void on_sax_error(void *ctx, cse__xml_error_ptr e)
{
    cse__xr *x = ((xmlParserCtxtPtr)ctx)->_private;

    if (e != NULL && e->level >= XML_ERR_ERROR)
        report_error(x, e);
    else
        tell(x, e);
}

/* ---- life --------------------------------------------------------------- */

static cse__xr *make(size_t max_text)
{
    cse__xr *x = calloc(1, sizeof(*x));

    if (x == NULL)
        return NULL;
    x->fd = -1;
    x->max_text = max_text;
    x->group = 1; /* delivered_group 0: none delivered yet */
    xmlSAXVersion(&x->sax, 2);
    /* libxml2's own handler for the document and any DTD; ours for content,
     * so that no tree is built. */
    x->sax.startElementNs = on_start;
    x->sax.endElementNs = on_end;
    x->sax.startElement = NULL;
    x->sax.endElement = NULL;
    x->sax.characters = on_text;
    x->sax.ignorableWhitespace = on_text;
    x->sax.cdataBlock = on_cdata;
    x->sax.comment = on_comment;
    x->sax.processingInstruction = on_pi;
    x->sax.reference = on_reference;
    x->sax.internalSubset = on_internal_subset;
    x->sax.serror = on_sax_error;
    x->sax.error = NULL;
    x->sax.warning = NULL;
    x->sax.fatalError = NULL;
    /* libxml2's handlers expect the parser as their context: ours find x
     * through it. */
    x->ctxt = xmlCreatePushParserCtxt(&x->sax, NULL, NULL, 0, NULL);
    if (x->ctxt == NULL) {
        free(x);
        return NULL;
    }
    x->ctxt->_private = x;
    /* Network off, big line numbers. Never XML_PARSE_NOENT, DTDLOAD, DTDATTR,
     * XINCLUDE or HUGE. */
    xmlCtxtUseOptions(x->ctxt, XML_PARSE_NONET | XML_PARSE_BIG_LINES);
    x->hl7 = xmlDictLookup(x->ctxt->dict, BAD_CAST HL7_NS, -1);
    return x;
}

cse__xr *cse__xr_new_fd(int fd, size_t max_text)
{
    cse__xr *x = make(max_text);

    if (x == NULL)
        return NULL;
    x->fd = fd;
    if ((x->chunk = malloc(CHUNK)) == NULL) {
        cse__xr_free(x);
        return NULL;
    }
    return x;
}

cse__xr *cse__xr_new_memory(const char *buf, size_t len, size_t max_text)
{
    cse__xr *x = make(max_text);

    if (x == NULL)
        return NULL;
    x->mem = buf;
    x->mem_len = len;
    return x;
}

/* Reads up to size bytes from fd: the count, 0 at its end, -1 (errno set)
 * when it cannot be read. */
static ssize_t read_fd(int fd, void *buf, size_t size)
{
    ssize_t r;

    do
        r = read(fd, buf, size);
    while (r < 0 && errno == EINTR);
    return r;
}

cse__xr *cse__xr_new_maybe_gzip(int fd, size_t max_text)
{
    cse__xr *x = cse__xr_new_fd(fd, max_text);
    ssize_t n;

    if (x == NULL)
        return NULL;
    if ((x->z_in = malloc(CHUNK)) == NULL)
        goto fail;
    /* The first bytes say whether it is gzip; they are handed on either way.
     * A read that fails here fails again, and is reported, at the first read. */
    if ((n = read_fd(fd, x->z_in, 2)) < 0)
        n = 0;
    if (n == 2 && x->z_in[0] == 0x1f && x->z_in[1] == 0x8b) {
        if ((x->z = calloc(1, sizeof(*x->z))) == NULL)
            goto fail;
        /* 16 + MAX_WBITS: a gzip wrapper, whose CRC-32 and length it checks. */
        if (inflateInit2(x->z, 16 + MAX_WBITS) != Z_OK) {
            free(x->z);
            x->z = NULL;
            goto fail;
        }
        x->z->next_in = x->z_in;
        x->z->avail_in = 2;
    } else {
        /* Not gzip: the bytes read so far come first. */
        memcpy(x->chunk, x->z_in, (size_t)n);
        x->win = x->chunk;
        x->win_len = (size_t)n;
        free(x->z_in);
        x->z_in = NULL;
    }
    return x;
fail:
    cse__xr_free(x);
    return NULL;
}

void cse__xr_free(cse__xr *x)
{
    if (x == NULL)
        return;
    if (x->ctxt) {
        if (x->ctxt->myDoc)
            xmlFreeDoc(x->ctxt->myDoc);
        x->ctxt->myDoc = NULL;
        xmlFreeParserCtxt(x->ctxt);
    }
    if (x->z) {
        inflateEnd(x->z);
        free(x->z);
    }
    free(x->z_in);
    for (struct block *b = x->blocks, *nb; b; b = nb) {
        nb = b->next;
        free(b);
    }
    for (int i = 0; i < x->n_held; i++)
        xmlResetError(&x->held[i].e);
    free(x->chunk);
    free(x->lines);
    free(x->text);
    free(x);
}

void cse__xr_set_error_handler(cse__xr *x, cse__xml_error_fn fn, void *arg)
{
    x->on_error = fn;
    x->error_arg = arg;
}

/* ---- reading ------------------------------------------------------------ */

static int input_failed(cse__xr *x, cse_code code, const char *what, const char *why)
{
    x->in_code = code;
    snprintf(x->in_buf, sizeof(x->in_buf), "%s%s%s%s", what, why ? " (" : "",
             why ? why : "", why ? ")" : "");
    x->in_msg = x->in_buf;
    return -1;
}

/* Inflates the next window of gzip data: its size, 0 at the end of the last
 * member, -1 when the data is corrupt or ends early. Members follow one
 * another as in gzip(1); nothing else may follow. Memory stays at two
 * windows whatever the data or its trailer claims. */
static int inflate_more(cse__xr *x)
{
    z_stream *z = x->z;
    static const char corrupt[] = "corrupt or truncated gzip data";

    z->next_out = (Bytef *)x->chunk;
    z->avail_out = CHUNK;
    while (z->avail_out == CHUNK) {
        int rc;
        if (z->avail_in == 0) {
            ssize_t r = read_fd(x->fd, x->z_in, CHUNK);
            if (r < 0)
                return input_failed(x, CSE_ERR_IO, "cannot read", strerror(errno));
            if (r == 0)
                return x->z_end ? 0
                                : input_failed(x, CSE_ERR_PARSE, corrupt,
                                               "it ends before the gzip trailer");
            z->next_in = x->z_in;
            z->avail_in = (uInt)r;
        }
        if (x->z_end) {
            /* Another member follows. */
            if (inflateReset(z) != Z_OK)
                return input_failed(x, CSE_ERR_PARSE, corrupt, NULL);
            x->z_end = false;
        }
        rc = inflate(z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            x->z_end = true;
        else if (rc == Z_MEM_ERROR)
            return input_failed(x, CSE_ERR_NOMEM, "out of memory", NULL);
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            /* zlib's reasons are its own static text ("incorrect data
             * check", "incorrect length check", ...). */
            return input_failed(x, CSE_ERR_PARSE, corrupt,
                                z->msg ? z->msg : "not inflatable");
    }
    return (int)(CHUNK - z->avail_out);
}

/* Reads the next block of input into the window. Returns its size, 0 at the
 * end, -1 when it cannot be read. */
static int refill(cse__xr *x)
{
    int n;

    if (x->mem != NULL || x->fd < 0) {
        size_t left = x->mem_len - x->mem_off;
        n = (int)(left < CHUNK ? left : CHUNK);
        x->win = x->mem + x->mem_off;
        x->mem_off += (size_t)n;
    } else if (x->z != NULL) {
        n = inflate_more(x);
        x->win = x->chunk;
    } else {
        ssize_t r = read_fd(x->fd, x->chunk, CHUNK);
        if (r < 0)
            input_failed(x, CSE_ERR_IO, "cannot read", strerror(errno));
        n = (int)r;
        x->win = x->chunk;
    }
    x->win_len = n > 0 ? (size_t)n : 0;
    x->win_off = 0;
    return n;
}

/* Whether the open group is complete: it holds a node, and not only a
 * DOCTYPE (which is delivered once the parser is past it, in the root, as
 * xmlTextReader delivers it: an error in its entities is heard first). */
static bool group_done(const cse__xr *x)
{
    return x->group_first != NULL && x->tail->type != XML_READER_TYPE_DOCUMENT_TYPE;
}

/* Closes the open group: its nodes may be delivered. */
static void close_group(cse__xr *x)
{
    int line = parser_line(x);

    for (cse__xnode *n = x->group_first; n; n = n->next)
        n->group_line = line;
    x->group_first = NULL;
    x->group++;
}

/* Parses one slice of the window. False when the input cannot be read. */
static bool parse_slice(cse__xr *x)
{
    size_t n = x->win_len - x->win_off;

    if (n > SLICE)
        n = SLICE;
    xmlParseChunk(x->ctxt, x->win + x->win_off, (int)n, 0);
    x->win_off += n;
    if (x->failed)
        return false;
    if (x->ctxt->instate == XML_PARSER_EOF || !x->ctxt->wellFormed) {
        /* Stopped by an error, which the handler has heard (or holds). */
        x->done = true;
        flush_text(x);
    }
    return true;
}

/* Parses input until something is queued or the input ends. The parser gets
 * the input in slices of SLICE bytes, as xmlTextReader gives it, so that it
 * runs only a little ahead of the caller and an error it reports is heard
 * near where it is. Returns false when the input cannot be read.
 *
 * That done, it parses on, slice by slice, up to AHEAD bytes of what is left
 * of the window (never reading more input): running the parser over many
 * nodes at a time and then the caller over them keeps each one's code in
 * the processor's cache, where alternating every few nodes did not. What
 * the caller sees stays exactly what it was: the nodes of each slice that
 * queued something (with the empty slices before it: a group) are
 * delivered as a unit, an error reported while parsing ahead is held and
 * replayed when the caller reaches the group it was reported in, and
 * cse__xr_parser_line() and cse__xr_error_flags() answer as they would
 * have then. */
static bool feed(cse__xr *x)
{
    size_t budget = AHEAD;

    while (!group_done(x) && !x->done) {
        if (x->win_off == x->win_len) {
            int r = refill(x);
            if (r < 0) {
                x->failed = true;
                return false;
            }
            if (r == 0) {
                x->done = true;
                x->ending = true;
                xmlParseChunk(x->ctxt, NULL, 0, 1);
                x->ending = false;
                flush_text(x);
                break;
            }
        }
        if (!parse_slice(x))
            return false;
    }
    if (x->group_first)
        close_group(x);
    if (x->done)
        return true;
    /* Ahead, within the window: errors are held, including those raised
     * without the parser. */
    x->ahead = true;
    x->ahead_global = xmlStructuredError;
    x->ahead_global_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(x, (xmlStructuredErrorFunc)hold_global);
    while (!x->done && x->win_off < x->win_len &&
           (budget > 0 || (x->group_first != NULL && !group_done(x)))) {
        size_t before = x->win_off;
        if (!parse_slice(x))
            break;
        budget -= x->win_off - before < budget ? x->win_off - before : budget;
        if (group_done(x) || (x->done && x->group_first))
            close_group(x);
    }
    xmlSetStructuredErrorFunc(x->ahead_global_ctx, x->ahead_global);
    x->ahead = false;
    return !x->failed;
}

/* Whether the next node may be delivered: it is in a closed group. */
static bool deliverable(const cse__xr *x)
{
    return x->head != NULL && x->head->group != x->group;
}

int cse__xr_read(cse__xr *x)
{
    /* At the end, or after an error, the reader stays on the last node. */
    if (!deliverable(x)) {
        if (x->head == NULL) {
            if (x->cur && x->cur != &x->end) {
                /* What an error message needs of it outlives the arena. */
                x->end = *x->cur;
                x->end.attrs = NULL;
                x->end.n_attrs = 0;
                x->end.text = NULL;
                x->end.parent = x->end.children = x->end.last = x->end.next = NULL;
                x->cur = &x->end;
            }
            if (x->pin == 0)
                arena_reset(x);
            else
                release_before(x, x->mark);
            x->tail = NULL;
        }
        /* What the parser reported ahead in the group still open is what
         * the caller, reading in step, would hear now. */
        replay(x, x->group);
        if (!feed(x))
            return -1;
        if (!deliverable(x)) {
            /* The input ended, or an error stopped the parser with nothing
             * more queued. */
            replay(x, x->group);
            x->line_seen = parser_line(x);
            if (x->failed)
                return -1;
            return x->ctxt->wellFormed ? 0 : -1;
        }
    }
    if (x->head->group != x->delivered_group) {
        /* The first node of a group: where the caller, reading in step with
         * the parser, would have been when the parser got this far. */
        x->delivered_group = x->head->group;
        x->line_seen = x->head->group_line;
        replay(x, x->head->group);
    }
    x->cur = x->head;
    x->head = x->head->next;
    if (x->head == NULL)
        x->tail = NULL;
    x->cur->next = NULL;
    return 1;
}

void cse__xr_set_bare_hl7(cse__xr *x)
{
    x->bare_hl7 = true;
    if (x->cur && x->cur->uri == NULL && x->cur->type == XML_READER_TYPE_ELEMENT)
        x->cur->hl7 = true;
    for (cse__xnode *n = x->head; n; n = n->next)
        if (n->uri == NULL && (n->type == XML_READER_TYPE_ELEMENT ||
                               n->type == XML_READER_TYPE_END_ELEMENT))
            n->hl7 = true;
}

const cse__xnode *cse__xr_node(const cse__xr *x)
{
    return x->cur;
}

int cse__xr_parser_line(const cse__xr *x)
{
    return x->line_seen ? x->line_seen : parser_line(x);
}

cse_code cse__xr_input_error(const cse__xr *x, const char **msg)
{
    cse_code c = x->in_code;

    if (c == CSE_OK && x->failed)
        c = CSE_ERR_NOMEM; /* what else sets failed */
    if (msg)
        *msg = x->in_msg ? x->in_msg : c == CSE_ERR_NOMEM ? "out of memory" : "";
    return c;
}

unsigned cse__xr_error_flags(const cse__xr *x)
{
    if (x->replaying)
        return x->replay_flags;
    return (x->seen_element ? 0u : CSE__XML_NO_ELEMENT) |
           (x->ending ? CSE__XML_AT_END : 0u);
}

static void append(cse__xnode *parent, cse__xnode *n)
{
    n->parent = parent;
    if (parent->last)
        parent->last->next = n;
    else
        parent->children = n;
    parent->last = n;
}

cse__xnode *cse__xr_expand(cse__xr *x, const char *parent_name)
{
    cse__xnode *root = x->cur, *at;
    int rc = 1;

    if (root == NULL || root->type != XML_READER_TYPE_ELEMENT)
        return NULL;
    root->parent = NULL;
    if (parent_name) {
        if ((root->parent = alloc(x, sizeof(*root->parent))) == NULL)
            return NULL;
        memset(root->parent, 0, sizeof(*root->parent));
        root->parent->type = XML_READER_TYPE_ELEMENT;
        root->parent->name = parent_name;
    }
    if (root->empty)
        return root;
    x->pin++;
    x->mark = block_of(x, root);
    at = root;
    while ((rc = cse__xr_read(x)) == 1) {
        cse__xnode *n = x->cur;
        if (n->type == XML_READER_TYPE_END_ELEMENT) {
            if (at == root)
                break;
            at = at->parent;
            continue;
        }
        if (n->type == XML_READER_TYPE_COMMENT ||
            n->type == XML_READER_TYPE_PROCESSING_INSTRUCTION)
            continue;
        append(at, n);
        if (n->type == XML_READER_TYPE_ELEMENT && !n->empty)
            at = n;
    }
    x->pin--;
    if (rc != 1) {
        x->cur = root; /* left where it was, as xmlTextReaderExpand leaves it */
        return NULL;
    }
    /* The reader is left on the element's end. */
    x->end = *x->cur;
    x->end.next = NULL;
    x->cur = &x->end;
    return root;
}

const char *cse__xnode_attr(const cse__xnode *n, const char *name)
{
    if (n == NULL || n->type != XML_READER_TYPE_ELEMENT)
        return NULL;
    /* The first letters tell most attributes apart ("root", "extension",
     * "code", "value", "unit"): compare them before calling strcmp. */
    for (int i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].uri == NULL && n->attrs[i].name[0] == name[0] &&
            strcmp(n->attrs[i].name, name) == 0)
            return n->attrs[i].value;
    return NULL;
}

/* ---- libxml2's errors --------------------------------------------------- */

/* Copies libxml2's message: its first line, without the dump of input bytes
 * it adds to encoding errors ("Bytes: 0x..", "bytes 0x.."), trimmed. */
static void safe_text(const char *msg, char *buf, size_t size)
{
    char *cut;
    size_t n;

    snprintf(buf, size, "%s", msg ? msg : "");
    if ((cut = strchr(buf, '\n')) != NULL)
        *cut = '\0';
    for (char *p = buf; (p = strstr(p, "0x")) != NULL; p += 2) {
        /* Cut at the word "bytes" before the dump, or at the dump itself. */
        char *b = p;
        while (b > buf && (b[-1] == ' ' || b[-1] == ':'))
            b--;
        if (b - buf >= 5 && strncasecmp(b - 5, "bytes", 5) == 0) {
            *(b - 5) = '\0';
            break;
        }
    }
    if ((cut = strstr(buf, "Bytes:")) != NULL)
        *cut = '\0';
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == ',' || buf[n - 1] == ':'))
        buf[--n] = '\0';
}

cse_code cse__xml_describe(cse__xml_error_ptr e, unsigned flags, char *buf, size_t size)
{
    char text[256];
    int code = e ? e->code : 0;

    safe_text(e ? e->message : NULL, text, sizeof(text));
    if (strstr(text, "huge text node") || strstr(text, "Excessive depth") ||
        strstr(text, "too long") || strstr(text, "Huge input lookup")) {
        snprintf(buf, size, "over the XML parser's size or depth limit (%s)", text);
        return CSE_ERR_LIMIT;
    }
    if ((flags & CSE__XML_NO_ELEMENT) && code == XML_ERR_DOCUMENT_END) {
        /* What libxml2 says of an empty or blank document. */
        snprintf(buf, size, "empty document: no XML element found");
        return CSE_ERR_PARSE;
    }
    if ((flags & CSE__XML_NO_ELEMENT) && code == XML_ERR_DOCUMENT_EMPTY &&
        strstr(text, "Document is empty") != NULL) {
        /* No markup it can read: nothing at all, or bytes in an encoding it
         * does not take for what they are (a UTF-16 byte-order mark before
         * UTF-8, say). */
        snprintf(buf, size,
                 "no XML element found (the file is empty, is not XML, or is in an "
                 "unsupported encoding)");
        return CSE_ERR_PARSE;
    }
    if (text[0] == '\0')
        snprintf(text, sizeof(text), "error %d", code);
    if ((flags & CSE__XML_AT_END) && !(flags & CSE__XML_NO_ELEMENT))
        snprintf(buf, size, "not well-formed XML: %s (truncated?)", text);
    else
        snprintf(buf, size, "not well-formed XML: %s", text);
    return CSE_ERR_PARSE;
}

static void ignore_generic(void *ctx, const char *msg, ...)
{
}

void cse__xml_errors_begin(cse__xml_errors *saved, cse__xml_error_fn fn, void *arg)
{
    /* Both are per thread when libxml2 has threads. */
    saved->serror = xmlStructuredError;
    saved->serror_ctx = xmlStructuredErrorContext;
    saved->generic = xmlGenericError;
    saved->generic_ctx = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(arg, (xmlStructuredErrorFunc)fn);
    xmlSetGenericErrorFunc(NULL, ignore_generic);
}

void cse__xml_errors_end(const cse__xml_errors *saved)
{
    xmlSetStructuredErrorFunc(saved->serror_ctx, saved->serror);
    xmlSetGenericErrorFunc(saved->generic_ctx, saved->generic);
}
