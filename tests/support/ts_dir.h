/* ts_dir.h - temporary directories for tests (module prefix ts_dir_).
 *
 * ts_dir_new makes a fresh directory /tmp/tlp-<tag>-XXXXXX and returns its path (malloc'd, the
 * caller's); ts_dir_free removes it and frees the path. A test that knows every file it wrote
 * removes them first: ts_dir_free fails the test if anything is left, so an unexpected file a
 * module leaves behind is caught. ts_dir_free_tree removes the directory with all it holds, for
 * tests whose subject writes a tree of its own. All fail the running cmocka test on error.
 */
#ifndef TLPMESH_TESTS_TS_DIR_H
#define TLPMESH_TESTS_TS_DIR_H

char *ts_dir_new(const char *tag);
void ts_dir_free(char *dir);
void ts_dir_free_tree(char *dir);

#endif
