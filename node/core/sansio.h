/* sansio.h - forced on every source of tlp_core (-include, node/core/CMakeLists.txt): a clock,
 * socket, file, libuv or random-source call inside node/core/ does not compile.
 *
 * The core is sans-IO (README.md in this folder): time, randomness and transport come in through
 * the io structs of engine.h, gossip.h and node.h, so that simnet runs the code that ships on a
 * virtual clock and a seeded random source. This header first includes the system headers that
 * declare the forbidden functions (so their own declarations are not refused), then forbids the
 * names: `#pragma GCC poison` for names nothing in the core uses otherwise, and for the names
 * that are also members or locals in the core (engine_io.send/close/random, a local `time` in
 * gossip_verify.c, the printf of format attributes) a redeclaration marked deprecated, which
 * -Werror turns into an error at a call and which a member or a local of that name does not
 * touch. Including <uv.h> fails on its own declarations. tests/sansio/ proves it: a file calling
 * each of these must not compile.
 */
#ifndef TLPMESH_NODE_CORE_SANSIO_H
#define TLPMESH_NODE_CORE_SANSIO_H

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define SANSIO_MSG "node/core is sans-IO: time, randomness and I/O come in through its io structs"

/* Names the core also uses as members or locals: refused at a call only. */
time_t time(time_t *t) __attribute__((deprecated(SANSIO_MSG)));
long random(void) __attribute__((deprecated(SANSIO_MSG)));
int close(int fd) __attribute__((deprecated(SANSIO_MSG)));
ssize_t send(int fd, const void *buf, size_t n, int flags) __attribute__((deprecated(SANSIO_MSG)));
ssize_t recv(int fd, void *buf, size_t n, int flags) __attribute__((deprecated(SANSIO_MSG)));
int listen(int fd, int n) __attribute__((deprecated(SANSIO_MSG)));        /* config.listen */
int printf(const char *fmt, ...) __attribute__((deprecated(SANSIO_MSG))); /* format(printf) */

/* clocks */
#pragma GCC poison clock clock_gettime gettimeofday timespec_get ftime
#pragma GCC poison sleep usleep nanosleep clock_nanosleep
/* random sources */
#pragma GCC poison rand rand_r srand srandom initstate random_r drand48 erand48 lrand48
#pragma GCC poison nrand48 mrand48 jrand48 arc4random getrandom getentropy
#pragma GCC poison randombytes_buf randombytes_random randombytes_uniform randombytes_stir
#pragma GCC poison crypto_sign_keypair crypto_box_keypair crypto_kx_keypair
/* sockets and names */
#pragma GCC poison socket socketpair connect bind accept accept4 sendto sendmsg
#pragma GCC poison recvfrom recvmsg getaddrinfo gethostbyname select pselect poll ppoll
/* files */
#pragma GCC poison open openat creat read write pread pwrite readv writev lseek fsync
#pragma GCC poison unlink rename remove mkdir rmdir opendir readdir mmap ioctl pipe dup dup2
#pragma GCC poison fopen fdopen freopen fclose fread fwrite fgets fputs fputc fgetc getc putc
#pragma GCC poison fprintf vprintf vfprintf puts putchar perror fflush tmpfile popen
#undef stdin /* glibc's are macros naming themselves: poison the variables */
#undef stdout
#undef stderr
#pragma GCC poison stdin stdout stderr
/* the process around it */
#pragma GCC poison getenv system fork
/* libuv (its header is refused as well: it declares these) */
#pragma GCC poison uv_run uv_now uv_hrtime uv_update_time uv_loop_init uv_default_loop
#pragma GCC poison uv_timer_start uv_tcp_init uv_tcp_connect uv_read_start uv_write
#pragma GCC poison uv_queue_work uv_getaddrinfo uv_fs_open uv_close

#endif
