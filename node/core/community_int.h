/* community_int.h - what community.c and community_build.c share; private to node/core. */
#ifndef TLPMESH_NODE_COMMUNITY_INT_H
#define TLPMESH_NODE_COMMUNITY_INT_H

/* bsearch comparator: a key (LIMIT_KEY_BYTES) against a struct proto_roster_member. */
int community_cmp_key_member(const void *key, const void *member);

#endif
