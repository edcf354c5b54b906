# check.cmake - cmake -DCC=... -DFLAGS=a;b;... -DSRC=repo -DOUT=dir -P check.cmake
# (tests/sansio/CMakeLists.txt: FLAGS are tlp_core's compile options, sansio.h among them).

# --- 1. no node/core file includes a shell library or a layer above the core ---
file(GLOB core_files ${SRC}/node/core/*.c ${SRC}/node/core/*.h)
list(LENGTH core_files n_files)
if(n_files LESS 10)
  message(FATAL_ERROR "found only ${n_files} files in ${SRC}/node/core")
endif()
set(forbidden "<uv\\.h>|<microhttpd\\.h>|<ini\\.h>|<jansson\\.h>|lmdb\\.h|\"node/(shell|formats|cli)/")
foreach(f ${core_files})
  file(STRINGS ${f} bad REGEX "^[ \t]*#[ \t]*include[ \t]*.*(${forbidden})")
  if(bad)
    message(FATAL_ERROR "${f}: a sans-IO core file includes ${bad}")
  endif()
endforeach()

# --- 2. the compiler refuses every kind of I/O ---
# name|code: one function body each (@ for ;, which would split the list); every one must
# fail, and for sansio.h's reason.
set(bad_snippets
  "clock_gettime|struct timespec t@ return clock_gettime(CLOCK_MONOTONIC, &t)@"
  "gettimeofday|struct timeval t@ return gettimeofday(&t, 0)@"
  "time|return (int)time(0)@"
  "sleep|return (int)sleep(1)@"
  "socket|return socket(2, 1, 0)@"
  "connect|return connect(3, 0, 0)@"
  "send|return (int)send(3, \"x\", 1, 0)@"
  "recv|char b[1]@ return (int)recv(3, b, 1, 0)@"
  "getaddrinfo|return getaddrinfo(\"x\", 0, 0, 0)@"
  "open|return open(\"x\", 0)@"
  "read|char b[1]@ return (int)read(0, b, 1)@"
  "write|return (int)write(1, \"x\", 1)@"
  "close|return close(3)@"
  "fopen|return fopen(\"x\", \"r\") != 0@"
  "fprintf|return fprintf(stderr, \"x\")@"
  "printf|return printf(\"x\")@"
  "puts|return puts(\"x\")@"
  "rand|return rand()@"
  "random|return (int)random()@"
  "getrandom|char b[1]@ return (int)getrandom(b, 1, 0)@"
  "randombytes_buf|unsigned char b[1]@ randombytes_buf(b, 1)@ return b[0]@"
  "randombytes_random|return (int)randombytes_random()@"
  "randombytes_uniform|return (int)randombytes_uniform(6)@"
  "getenv|return getenv(\"HOME\") != 0@"
  "uv_now|return (int)uv_now(0)@"
)
set(good_code [=[
#include <assert.h>
#include <stdarg.h>
#include "node/core/node.h"
struct io { int (*send)(int); void (*close)(int); long (*random)(void); };
static int one(int x) { return x; }
__attribute__((format(printf, 1, 2))) static int say(const char *fmt, ...);
static int say(const char *fmt, ...)
{
    char b[16];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    return n;
}
int f(void);
int f(void)
{
    struct io io = {.send = one};
    bool time = io.send(1) == 1;
    assert(time);
    return say("%d", io.send(2));
}
]=])

function(compile name code out_rc out_log)
  set(file ${OUT}/sansio_${name}.c)
  file(WRITE ${file} "${code}")
  execute_process(COMMAND ${CC} ${FLAGS} -fsyntax-only ${file}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE log ERROR_VARIABLE log)
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_log} "${log}" PARENT_SCOPE)
endfunction()

compile(good "${good_code}" rc log)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "what the core may use does not compile with sansio.h:\n${log}")
endif()

foreach(snippet ${bad_snippets})
  string(FIND "${snippet}" "|" bar)
  string(SUBSTRING "${snippet}" 0 ${bar} name)
  math(EXPR from "${bar} + 1")
  string(SUBSTRING "${snippet}" ${from} -1 body)
  string(REPLACE "@" ";" body "${body}")
  compile(${name} "int f(void);\nint f(void)\n{\n    ${body}\n}\n" rc log)
  if(rc EQUAL 0)
    message(FATAL_ERROR "node/core accepts a call to ${name}: sansio.h must refuse it")
  endif()
  if(NOT log MATCHES "poisoned|sans-IO")
    message(FATAL_ERROR "${name}: refused, but not by sansio.h:\n${log}")
  endif()
endforeach()

compile(uv_h "#include <uv.h>\n" rc log)
if(rc EQUAL 0 OR NOT log MATCHES "poisoned")
  message(FATAL_ERROR "node/core may include <uv.h>:\n${log}")
endif()
list(LENGTH bad_snippets n_bad)
message(STATUS "sans-IO: ${n_files} core files clean, ${n_bad} calls and <uv.h> refused")
