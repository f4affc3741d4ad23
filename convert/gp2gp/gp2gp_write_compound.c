/* SPDX-License-Identifier: MIT */
/* The GP2GP writer's CompoundStatements: a compound is written around the
 * statements that name it in parent_id, nested as deep as they go (the
 * readers deliver a container before its components). A laboratory report
 * and its specimens are written as the national sending adaptor writes them:
 * the report's laboratory number as a second id, effectiveTime nullFlavor NI,
 * the specimen's specimenRole, and the report's performer as its author.
 *
 * This file is part of gp2gp_write.c (it is included there): it shares the
 * writer's private state and helpers, and is not compiled alone. */

#define OID_PMIP_REPORT "2.16.840.1.113883.2.1.4.5.5"
#define OID_PMIP_SPECIMEN "2.16.840.1.113883.2.1.4.5.2"

static cse_code buffer_entry(writer *wr, const cse_entry *e, const cse_entry_info *info,
                             cse_error *err);

/* Buffers an entry; a compound is remembered so that its components join
 * the same composition. */
static cse_code buffer_compound_part(writer *wr, const cse_entry *e,
                                     const cse_entry_info *info, cse_error *err)
{
    TRY(buffer_entry(wr, e, info, err));
    if (e->kind == CSE_ENTRY_COMPOUND && e->id &&
        cse__smap_put(&wr->comp_containers, e->id, NULL, true) != CSE_OK)
        return nomem(err);
    return CSE_OK;
}

static const char *specimen_desc(const cse_entry *e)
{
    const cse_concept *c = &e->path.specimen_type;
    if (c->text)
        return c->text;
    if (c->n && c->codings[0].display)
        return c->codings[0].display;
    return "";
}

/* The compound classes written as CompoundStatements; another is flat. */
static bool known_class(const cse_entry *e)
{
    static const char *const classes[] = {"battery", "cluster", "topic", "category"};
    for (size_t i = 0; e->compound_class && i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strcmp(e->compound_class, classes[i]) == 0)
            return true;
    return false;
}

/* <component><CompoundStatement> and its own elements, up to its components. */
static cse_code open_compound(writer *wr, const cse_entry *e, cse_error *err)
{
    char id[37], role[37], cls[16] = "CLUSTER";
    bool lab = e->path.role == CSE_PATH_REPORT || e->path.role == CSE_PATH_SPECIMEN;
    const cse_time *collected = &e->path.collected;

    if (e->compound_class && strlen(e->compound_class) < sizeof(cls)) {
        for (size_t i = 0; e->compound_class[i]; i++)
            cls[i] = (char)(e->compound_class[i] >= 'a' && e->compound_class[i] <= 'z'
                                ? e->compound_class[i] - 32
                                : e->compound_class[i]);
        cls[strlen(e->compound_class)] = '\0';
    }
    if (e->id)
        to_uuid(e->id, id);
    else
        TRY(anon_id(wr, e, id, err));
    TRY(open_statement(wr, "CompoundStatement", cls, "EVN", err));
    W(write_id(wr, id));
    if (e->path.role == CSE_PATH_REPORT && e->path.accession && *e->path.accession)
        W(empty(wr, "id", "root", OID_PMIP_REPORT, "extension", e->path.accession, NULL));
    TRY(write_code(wr, "code", &e->code, err));
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    if (lab && !e->effective_center.precision && !e->effective_low.precision &&
        !e->effective_high.precision) {
        W(start(wr, "effectiveTime"));
        W(empty(wr, "center", "nullFlavor", "NI", NULL));
        W(end(wr));
    } else {
        TRY(write_effective(wr, e, err));
    }
    W(write_ts(wr, "availabilityTime", availability(e)));
    if (labelled(e, NULL))
        TRY(write_nopat(wr, err));
    if (e->path.role == CSE_PATH_SPECIMEN) {
        if (cse_uuid_derive(UUID_NS " specimen role", id, role) != CSE_OK)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
        W(start(wr, "specimen"));
        W(attr(wr, "typeCode", "SPC"));
        W(start(wr, "specimenRole"));
        W(attr(wr, "classCode", "SPEC"));
        W(write_id(wr, role));
        if (e->path.accession && *e->path.accession)
            W(empty(wr, "id", "root", OID_PMIP_SPECIMEN, "extension", e->path.accession,
                    NULL));
        if (collected->precision) {
            W(start(wr, "effectiveTime"));
            W(write_ts(wr, "center", collected));
            W(end(wr));
        }
        W(start(wr, "specimenSpecimenMaterial"));
        W(attr(wr, "determinerCode", "INSTANCE"));
        W(attr(wr, "classCode", "MAT"));
        W(text_element(wr, "desc", specimen_desc(e)));
        W(end(wr));
        W(end(wr));
        W(end(wr));
    }
    wr->nesting++; /* what it holds is written with contextConductionInd */
    return CSE_OK;
}

/* Ends a compound: a placeholder when nothing was in it (the schema needs a
 * component), the report's author, and the closing tags. */
static cse_code close_compound(writer *wr, const cse_entry *e, size_t components,
                               cse_error *err)
{
    char id[37];
    if (components == 0) {
        if (e->id == NULL)
            TRY(anon_id(wr, e, id, err));
        else if (cse_uuid_derive(UUID_NS " empty compound", e->id, id) != CSE_OK)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
        TRY(open_statement(wr, "NarrativeStatement", "OBS", "EVN", err));
        W(write_id(wr, id));
        W(text_element(wr, "text", "No entries recorded in this group"));
        W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
        W(write_ts(wr, "availabilityTime", availability(e)));
        TRY(close_statement(wr, err));
    }
    wr->nesting--;
    /* A report names its performer as author; a battery (a blood pressure)
     * its performer. */
    if (e->author_ref &&
        (e->path.role == CSE_PATH_REPORT ||
         (e->compound_class && strcmp(e->compound_class, "battery") == 0))) {
        W(start(wr, "Participant"));
        W(attr(wr, "typeCode", e->path.role == CSE_PATH_REPORT ? "AUT" : "PRF"));
        W(attr(wr, "contextControlCode", "OP"));
        TRY(write_agent_ref(wr, e->author_ref, err));
        W(end(wr));
    }
    return close_statement(wr, err);
}

/* Marks, in keep, the buffered topics and categories that hold something of
 * the part (through any depth): one that holds nothing of it is not written
 * (a consultation's marker goes to a composition of its own). Its
 * containers come before an entry, so each is looked for backwards. */
static void sections_in_use(const writer *wr, comp_part part, bool *keep)
{
    for (size_t i = 0; i < wr->n_items; i++) {
        const cse_entry *e = wr->items[i].e;
        size_t at = i;
        if (e->kind == CSE_ENTRY_COMPOUND || !in_part(&wr->items[i], part))
            continue;
        for (const char *up = e->parent_id; up;) {
            size_t j = at;
            while (j > 0 &&
                   !(wr->items[j - 1].e->id && strcmp(wr->items[j - 1].e->id, up) == 0))
                j--;
            if (j == 0 || keep[j - 1])
                break;
            keep[j - 1] = true;
            at = j - 1;
            up = wr->items[at].e->parent_id;
        }
    }
}

/* The buffered statements of a part, each compound around its components. */
static cse_code write_nested(writer *wr, comp_part part, const bool *used, cse_error *err)
{
    size_t stack[MAX_CONTAINER_DEPTH], kids[MAX_CONTAINER_DEPTH];
    int depth = 0;

    for (size_t i = 0; i < wr->n_items; i++) {
        const pending *p = &wr->items[i];
        const cse_entry *e = p->e;
        int keep = 0;
        if (!in_part(p, part) || (is_section(e) && !used[i]))
            continue;
        /* Close the compounds this entry is not in: the innermost open one
         * it is inside, through any compound written flat. */
        for (const char *up = e->parent_id; up && keep == 0; up = NULL) {
            for (int hop = 0; up && hop < MAX_CONTAINER_DEPTH && keep == 0; hop++) {
                for (int j = depth; j > 0 && keep == 0; j--) {
                    const char *cid = wr->items[stack[j - 1]].e->id;
                    if (cid && strcmp(cid, up) == 0)
                        keep = j;
                }
                up = cse__smap_get(&wr->containers, up);
            }
        }
        while (depth > keep) {
            depth--;
            TRY(close_compound(wr, wr->items[stack[depth]].e, kids[depth], err));
        }
        if (depth > 0)
            kids[depth - 1]++;
        if (e->kind == CSE_ENTRY_COMPOUND && !known_class(e)) {
            /* Of no class GP2GP knows: written flat, its components in the
             * compound (or composition) around it. */
            if (depth > 0)
                kids[depth - 1]--;
            continue;
        }
        if (e->kind == CSE_ENTRY_COMPOUND && p->marker == NULL) {
            if (depth == MAX_CONTAINER_DEPTH)
                return cse__error_set(
                    err, CSE_ERR_LIMIT, e->source_line, NULL, "CompoundStatement",
                    "compound statements nested more than %d deep", MAX_CONTAINER_DEPTH);
            TRY(open_compound(wr, e, err));
            stack[depth] = i;
            kids[depth] = 0;
            depth++;
        } else {
            TRY(statement(wr, p, err));
        }
    }
    while (depth > 0) {
        depth--;
        TRY(close_compound(wr, wr->items[stack[depth]].e, kids[depth], err));
    }
    return CSE_OK;
}

static cse_code write_items(writer *wr, comp_part part, cse_error *err)
{
    bool *used = calloc(wr->n_items ? wr->n_items : 1, sizeof(*used));
    cse_code rc;

    if (used == NULL)
        return nomem(err);
    sections_in_use(wr, part, used);
    rc = write_nested(wr, part, used, err);
    free(used);
    return rc;
}
