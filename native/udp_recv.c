// sluice_udp: a UDP socket read with recvmmsg(2), for the UDP reader thread.
//
// node:dgram hands each datagram to JavaScript on its own: a Buffer, an rinfo object and a
// formatted address per datagram, and an event-loop wakeup for nearly each one at a paced rate.
// Here one call drains up to a batch's worth of datagrams straight into the caller's buffer,
// so the reader thread can sleep a millisecond between reads and pay per batch, not per datagram.
// Optional: when this addon is not built, the reader falls back to node:dgram.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

#define VLEN 32
// One slot holds any UDP datagram (at most 65,507 bytes over IPv4, 65,527 over IPv6).
#define SLOT 65536

typedef struct {
  int fd;
  int family;
  unsigned char *scratch;  // VLEN slots of SLOT bytes: recvmmsg needs one iovec per datagram
  struct mmsghdr msgs[VLEN];
  struct iovec iov[VLEN];
  struct sockaddr_storage addrs[VLEN];
} UdpSocket;

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char text[160];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  const char *code = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EINVAL ? "EINVAL" : "EIO";
  napi_throw_error(env, code, text);
  return NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  UdpSocket *s = data;
  if (s->fd >= 0) close(s->fd);
  free(s->scratch);
  free(s);
}

static UdpSocket *unwrap(napi_env env, napi_value v) {
  UdpSocket *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok || s == NULL) {
    napi_throw_type_error(env, NULL, "not a UDP socket handle");
    return NULL;
  }
  return s;
}

static void set_int(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value n;
  napi_create_int64(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

// open(family 4|6, host, port, receiveBufferBytes) -> { handle, port, receiveBuffer }
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t family, port, rcvbuf;
  char host[INET6_ADDRSTRLEN + 1];
  size_t hostLen;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &family) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hostLen) != napi_ok ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok || napi_get_value_int32(env, argv[3], &rcvbuf) != napi_ok) {
    napi_throw_type_error(env, NULL, "open(family, host, port, receiveBuffer)");
    return NULL;
  }
  struct sockaddr_storage sa;
  socklen_t saLen;
  memset(&sa, 0, sizeof sa);
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return throw_errno(env, "not an IPv6 address", EINVAL);
    saLen = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&sa;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return throw_errno(env, "not an IPv4 address", EINVAL);
    saLen = sizeof *a;
  }
  int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "setsockopt SO_RCVBUF", e);
  }
  if (bind(fd, (struct sockaddr *)&sa, saLen) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  struct sockaddr_storage bound;
  socklen_t boundLen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &boundLen);
  int got = 0;
  socklen_t gotLen = sizeof got;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gotLen);

  UdpSocket *s = calloc(1, sizeof *s);
  unsigned char *scratch = malloc((size_t)VLEN * SLOT);
  if (s == NULL || scratch == NULL) {
    free(s);
    free(scratch);
    close(fd);
    return throw_errno(env, "malloc", ENOMEM);
  }
  s->fd = fd;
  s->family = family;
  s->scratch = scratch;
  for (int i = 0; i < VLEN; i++) {
    s->iov[i].iov_base = scratch + (size_t)i * SLOT;
    s->iov[i].iov_len = SLOT;
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->addrs[i];
  }
  napi_value result, handle;
  napi_create_object(env, &result);
  napi_create_external(env, s, finalize, NULL, &handle);
  napi_set_named_property(env, result, "handle", handle);
  set_int(env, result, "port", ntohs(family == 6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port));
  set_int(env, result, "receiveBuffer", got);
  return result;
}

// receive(handle, data: Uint8Array, used, index: Int32Array, count, addrs: Int32Array, waitMs)
//   -> datagrams added. Each datagram's bytes are appended to data at `used`; its
//   [offset, length, port, 0] at index[count*4]; its address's 16 bytes at addrs[count*4]
//   (an IPv4 address in the first word). Returns what was queued, without waiting, once
//   waitMs (>0) passed with nothing to read or at once (waitMs 0). Stops before data or index
//   fill: it reads only while a whole SLOT of data is free.
static napi_value Receive(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "receive(handle, data, used, index, count, addrs, waitMs)");
    return NULL;
  }
  UdpSocket *s = unwrap(env, argv[0]);
  if (s == NULL) return NULL;
  napi_typedarray_type t;
  size_t dataLen, indexLen, addrsLen;
  void *dataPtr, *indexPtr, *addrsPtr;
  int32_t used, count, waitMs;
  napi_get_typedarray_info(env, argv[1], &t, &dataLen, &dataPtr, NULL, NULL);
  napi_get_typedarray_info(env, argv[3], &t, &indexLen, &indexPtr, NULL, NULL);
  napi_get_typedarray_info(env, argv[5], &t, &addrsLen, &addrsPtr, NULL, NULL);
  napi_get_value_int32(env, argv[2], &used);
  napi_get_value_int32(env, argv[4], &count);
  napi_get_value_int32(env, argv[6], &waitMs);
  unsigned char *data = dataPtr;
  int32_t *index = indexPtr, *addrs = addrsPtr;
  if (s->fd < 0) return throw_errno(env, "receive", EBADF);

  if (waitMs > 0) {
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int r = poll(&p, 1, waitMs);
    if (r < 0 && errno != EINTR) return throw_errno(env, "poll", errno);
  }
  int added = 0;
  for (;;) {
    size_t room = dataLen > (size_t)used ? dataLen - (size_t)used : 0;
    size_t slots = indexLen / 4 > (size_t)(count + added) ? indexLen / 4 - (size_t)(count + added) : 0;
    if (addrsLen / 4 < indexLen / 4) slots = 0;
    // Without a free SLOT of room a datagram might not fit: the caller hands this batch over first.
    size_t want = room / SLOT;
    if (want > slots) want = slots;
    if (want > VLEN) want = VLEN;
    if (want == 0) break;
    for (size_t i = 0; i < want; i++) {
      s->msgs[i].msg_hdr.msg_namelen = sizeof s->addrs[i];
      s->msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, (unsigned)want, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      if (errno == ECONNREFUSED) continue;  // a stale ICMP error from an earlier send: nothing lost here
      return throw_errno(env, "recvmmsg", errno);
    }
    for (int i = 0; i < n; i++) {
      unsigned len = s->msgs[i].msg_len;
      memcpy(data + used, s->iov[i].iov_base, len);
      int32_t *ix = index + (size_t)(count + added) * 4;
      int32_t *ad = addrs + (size_t)(count + added) * 4;
      ix[0] = used;
      ix[1] = (int32_t)len;
      ix[3] = 0;
      if (s->addrs[i].ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->addrs[i];
        ix[2] = ntohs(a->sin6_port);
        memcpy(ad, &a->sin6_addr, 16);
      } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&s->addrs[i];
        ix[2] = ntohs(a->sin_port);
        ad[0] = (int32_t)a->sin_addr.s_addr;
        ad[1] = ad[2] = ad[3] = 0;
      }
      used += (int32_t)len;
      added++;
    }
    if (n < (int)want) break;  // the queue is empty
  }
  napi_value r;
  napi_create_int32(env, added, &r);
  return r;
}

// addressText(family, addrs: Int32Array, at) -> the address at addrs[at..at+3] as inet_ntop writes it
static napi_value AddressText(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t family, at;
  napi_typedarray_type t;
  size_t len;
  void *ptr;
  napi_get_value_int32(env, argv[0], &family);
  napi_get_typedarray_info(env, argv[1], &t, &len, &ptr, NULL, NULL);
  napi_get_value_int32(env, argv[2], &at);
  if (at < 0 || (size_t)at + 4 > len) {
    napi_throw_range_error(env, NULL, "address index out of range");
    return NULL;
  }
  char text[INET6_ADDRSTRLEN];
  inet_ntop(family == 6 ? AF_INET6 : AF_INET, (int32_t *)ptr + at, text, sizeof text);
  napi_value r;
  napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &r);
  return r;
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  UdpSocket *s = unwrap(env, argv[0]);
  if (s != NULL && s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
      {"receive", NULL, Receive, NULL, NULL, NULL, napi_default, NULL},
      {"addressText", NULL, AddressText, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
