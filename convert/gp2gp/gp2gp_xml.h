/* SPDX-License-Identifier: MIT */
/* A pull reader over libxml2's SAX2 push parser, for the GP2GP reader.
 *
 * It offers what the reader used from xmlTextReader (one node at a time, with
 * its type, depth, names and attributes, and "expand the element I am on into
 * a small tree") without building libxml2 tree nodes for the whole document:
 * SAX2 events are queued in an arena, a chunk of input at a time, and an
 * expanded element is a tree of those same queued nodes. Text is delivered as
 * one node per run of character data, as xmlTextReader delivers it.
 *
 * Memory: the events of up to 16 KiB of input read ahead (see feed() in
 * gp2gp_xml.c), or of the element being expanded, whichever is larger; text
 * runs are stored up to a cap. Not installed. */
#ifndef CSE_GP2GP_XML_H
#define CSE_GP2GP_XML_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/xmlreader.h>

#include <csemarker/common.h>

/* An attribute: names are the parser's (interned), the value is decoded. */
typedef struct cse__xattr {
    const char *name;  /* local name */
    const char *uri;   /* namespace, NULL for an unprefixed attribute */
    const char *value; /* NUL-terminated */
    size_t len;
} cse__xattr;

/* One node: a queued event, or a node of an expanded tree. type is one of
 * XML_READER_TYPE_ELEMENT, _END_ELEMENT, _TEXT (all character data, white
 * space included), _CDATA, _COMMENT, _PROCESSING_INSTRUCTION,
 * _DOCUMENT_TYPE and _ENTITY_REFERENCE. */
typedef struct cse__xnode {
    int type;
    int depth;        /* 0 for the root element */
    int line;         /* an element's start tag, for an end tag too */
    bool empty;       /* an element written <x/> (no end event follows) */
    bool hl7;         /* an element in the HL7 v3 namespace */
    const char *name; /* element local name, PI target, entity name */
    const char *uri;  /* element namespace, NULL for none */
    const char *text; /* text, CDATA, comment or PI data, NUL-terminated */
    size_t len;       /* its length (text longer than the cap is counted, not kept) */
    cse__xattr *attrs;
    int n_attrs;
    /* An expanded tree; next also links the event queue. */
    struct cse__xnode *parent, *children, *last, *next;
    size_t attr_max; /* the length of its longest attribute value */
    /* Reader bookkeeping (gp2gp_xml.c): the batch of input it was read in,
     * and the parser's line when that batch was complete. */
    unsigned group;
    int group_line;
} cse__xnode;

typedef struct cse__xr cse__xr;

#if LIBXML_VERSION >= 21200
typedef const xmlError *cse__xml_error_ptr;
#else
typedef xmlErrorPtr cse__xml_error_ptr;
#endif
typedef void (*cse__xml_error_fn)(void *arg, cse__xml_error_ptr e);

/* Where the bytes come from: a file descriptor (not closed), memory, or a
 * file descriptor whose content is inflated when it is gzip (zlib, one
 * window at a time; the trailer's CRC and length are checked at its end). */
cse__xr *cse__xr_new_fd(int fd, size_t max_text);
cse__xr *cse__xr_new_memory(const char *buf, size_t len, size_t max_text);
cse__xr *cse__xr_new_maybe_gzip(int fd, size_t max_text);
void cse__xr_free(cse__xr *x);

/* Errors libxml2 reports go to fn(arg, error) as they happen (the parser
 * reads ahead of the caller, as xmlTextReader does). */
/* From now on (and for the nodes already read but not delivered, the
 * current one included), elements in no namespace count as HL7 elements:
 * for a large-message fragment whose sender left the namespace out. */
void cse__xr_set_bare_hl7(cse__xr *x);

void cse__xr_set_error_handler(cse__xr *x, cse__xml_error_fn fn, void *arg);

/* Why the input could not be read (after a read returned -1 with no error
 * from libxml2): CSE_ERR_PARSE for corrupt or truncated gzip data,
 * CSE_ERR_IO, CSE_ERR_NOMEM, or CSE_OK when the input layer did not fail.
 * *msg (may be NULL) receives a message that quotes nothing of the input. */
cse_code cse__xr_input_error(const cse__xr *x, const char **msg);
/* CSE__XML_* flags describing where the parser was when it reported an
 * error, for cse__xml_describe(). */
unsigned cse__xr_error_flags(const cse__xr *x);

/* Moves to the next node: 1, 0 at the end of the document, -1 when the input
 * cannot be read or is not well-formed. */
int cse__xr_read(cse__xr *x);
/* The current node; valid until the next read or expand. */
const cse__xnode *cse__xr_node(const cse__xr *x);
/* The parser's current line. */
int cse__xr_parser_line(const cse__xr *x);
/* Reads the whole element the reader is on into a tree and leaves the reader
 * on its end. The root's parent is a bare element named parent_name (may be
 * NULL: no parent). The tree lives until the next read or expand. NULL when
 * the input ends early or cannot be read. */
cse__xnode *cse__xr_expand(cse__xr *x, const char *parent_name);

/* ---- libxml2's errors, shared by the reader and the repair pass ---------- */

#define CSE__XML_NO_ELEMENT 1u /* no start tag had been read */
#define CSE__XML_AT_END 2u     /* reported when the input had ended */

/* Turns an error libxml2 reported into a code and a one-line message that
 * is safe to show: CSE_ERR_LIMIT ("over the XML parser's size or depth
 * limit") for its size and depth limits, else CSE_ERR_PARSE ("not
 * well-formed XML: ...", "empty document: no XML element found", ...).
 * libxml2's dump of the input bytes ("Bytes: 0x..") is never included. */
cse_code cse__xml_describe(cse__xml_error_ptr e, unsigned flags, char *buf, size_t size);

/* Sends the errors libxml2 reports without a parser (its I/O and encoding
 * layers) to fn(arg, error) on this thread, instead of stderr, until
 * cse__xml_errors_end(). Scopes nest: each end restores what its begin
 * found. */
typedef struct cse__xml_errors {
    xmlStructuredErrorFunc serror;
    void *serror_ctx;
    xmlGenericErrorFunc generic;
    void *generic_ctx;
} cse__xml_errors;
void cse__xml_errors_begin(cse__xml_errors *saved, cse__xml_error_fn fn, void *arg);
void cse__xml_errors_end(const cse__xml_errors *saved);

/* The value of the unprefixed attribute name, or NULL. */
const char *cse__xnode_attr(const cse__xnode *n, const char *name);

#endif
