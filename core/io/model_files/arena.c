/* arena.c — a bump allocator for the parse trees of pickles and JSON headers:
 * many small nodes, freed together when the read ends. */
#include <stdlib.h>
#include <string.h>

#include "model_files_internal.h"

struct mf_arena_block {
    mf_arena_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char bytes[];
};

#define MF_ARENA_BLOCK (64 * 1024)

void *mf_arena_alloc(mf_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0) n = 8;
    mf_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > MF_ARENA_BLOCK ? n : MF_ARENA_BLOCK;
        if (cap > SIZE_MAX - sizeof *b) return NULL;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = b->bytes + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *mf_arena_strndup(mf_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX) return NULL;
    char *copy = mf_arena_alloc(a, len + 1);
    if (copy) memcpy(copy, s, len);
    return copy;
}

void mf_arena_free(mf_arena *a)
{
    while (a->head) {
        mf_arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}
