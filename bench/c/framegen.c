/*
 * Raw wire load generator: the same bytes against the broker and against the baselines.
 *
 *   framegen send  -h HOST -p PORT -f FRAMES [-n INFLIGHT] [-d SECONDS] [-w WARMUP] [-r RATE] [-c COUNT]
 *   framegen fetch -h HOST -p PORT -t TOPIC [-P PARTITION] [-m MAXBYTES] [-d SECONDS] [-w WARMUP] [--raw]
 *
 * send: FRAMES is a file of complete request frames (int32 size + bytes each), sent in turn over
 *   one connection with at most INFLIGHT unanswered, as fast as possible or at RATE requests/s
 *   (open loop: latency is measured from each request's scheduled time, so a stall is not hidden).
 *   Responses are counted in order (Kafka answers a connection's requests in order). With COUNT,
 *   stops once COUNT requests were answered (to fill a log before a fetch run).
 * fetch: Fetch v4 requests for one partition, one in flight, each for MAXBYTES (default 1 MiB)
 *   from the offset after the last whole batch of the previous response; at the high watermark it
 *   starts again at offset 0, so the whole run reads what is already in the log (page cache).
 *   With -R (raw) the responses are not parsed: every byte after the response header counts (the
 *   baseline server answers each request with one chunk of its file).
 * Prints one JSON object on stdout: counts, rates, latency percentiles (microseconds) and this
 * process's CPU seconds, all over the measured window (after WARMUP seconds).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "framegen: %s: %s\n", what, detail);
  exit(1);
}

static int connect_to(const char *host, int port, int nonblocking) {
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) die("host", "expects an IPv4 address");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect", strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (nonblocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* ---- latency samples ---- */

static double *samples;
static size_t sample_count, sample_capacity;

/* FRAMEGEN_TRACE=path writes "seconds-since-start latency-us" per answered request (diagnosis). */
static FILE *trace;
static double trace_origin;

static void add_sample(double us) {
  if (sample_count == sample_capacity) {
    sample_capacity = sample_capacity ? sample_capacity * 2 : 1 << 16;
    samples = realloc(samples, sample_capacity * sizeof(double));
  }
  samples[sample_count++] = us;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(double p) {
  if (sample_count == 0) return -1;
  size_t index = (size_t)(p * (double)(sample_count - 1) + 0.5);
  return samples[index < sample_count ? index : sample_count - 1];
}

static void print_latency(void) {
  qsort(samples, sample_count, sizeof(double), compare_doubles);
  printf(",\"p50Us\":%.1f,\"p99Us\":%.1f,\"p999Us\":%.1f,\"maxUs\":%.1f", percentile(0.5), percentile(0.99),
         percentile(0.999), sample_count ? samples[sample_count - 1] : -1);
}

/* ---- send ---- */

struct frame {
  const uint8_t *bytes;
  size_t length;
};

static int run_send(const char *host, int port, const char *path, int inflight_max, double seconds, double warmup,
                    double rate, uint64_t count) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) die(path, strerror(errno));
  struct stat st;
  fstat(fileno(file), &st);
  uint8_t *data = malloc((size_t)st.st_size);
  if (fread(data, 1, (size_t)st.st_size, file) != (size_t)st.st_size) die(path, "short read");
  fclose(file);
  struct frame frames[1024];
  int frame_count = 0;
  for (size_t at = 0; at + 4 <= (size_t)st.st_size && frame_count < 1024;) {
    uint32_t size = ntohl(*(uint32_t *)(data + at));
    frames[frame_count].bytes = data + at;
    frames[frame_count].length = size + 4;
    frame_count++;
    at += size + 4;
  }
  if (frame_count == 0) die(path, "no frames");

  int fd = connect_to(host, port, 1);
  size_t read_capacity = 1 << 20, read_length = 0;
  uint8_t *read_buffer = malloc(read_capacity);
  /* Scheduled send times of the requests in flight, oldest first (a ring). */
  double ring[65536];
  size_t ring_head = 0, ring_tail = 0;
  int inflight = 0, next_frame = 0;
  size_t write_offset = 0;
  int writing = 0;
  uint64_t responses = 0, bytes = 0, total_responses = 0, total_sent = 0;
  double start = now_s();
  double window_start = start + warmup, window_end = window_start + seconds;
  double cpu0 = -1, cpu1 = -1;
  trace_origin = start;
  if (getenv("FRAMEGEN_TRACE") != NULL) trace = fopen(getenv("FRAMEGEN_TRACE"), "w");
  double interval = rate > 0 ? 1.0 / rate : 0;
  double next_due = start;

  for (;;) {
    double t = now_s();
    if (cpu0 < 0 && t >= window_start) cpu0 = cpu_s();
    if (t >= window_end || (count > 0 && total_responses >= count)) break;
    /* Start and continue writes. */
    for (;;) {
      if (!writing) {
        if (inflight >= inflight_max || (rate > 0 && next_due > t) || (count > 0 && total_sent >= count)) break;
        writing = 1;
        total_sent++;
        write_offset = 0;
        ring[ring_tail++ & 65535] = rate > 0 ? next_due : t;
        inflight++;
        next_due += interval;
      }
      const struct frame *f = &frames[next_frame];
      ssize_t n = write(fd, f->bytes + write_offset, f->length - write_offset);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        die("write", strerror(errno));
      }
      write_offset += (size_t)n;
      if (write_offset == f->length) {
        writing = 0;
        next_frame = (next_frame + 1) % frame_count;
      }
    }
    /* Read whatever responses arrived. */
    for (;;) {
      if (read_length == read_capacity) {
        read_capacity *= 2;
        read_buffer = realloc(read_buffer, read_capacity);
      }
      ssize_t n = read(fd, read_buffer + read_length, read_capacity - read_length);
      if (n == 0) die("read", "the server closed the connection");
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        die("read", strerror(errno));
      }
      read_length += (size_t)n;
      size_t at = 0;
      double done = now_s();
      while (read_length - at >= 4) {
        uint32_t size = ntohl(*(uint32_t *)(read_buffer + at));
        if (read_length - at < 4 + (size_t)size) break;
        at += 4 + size;
        double sent = ring[ring_head++ & 65535];
        int frame_index = (int)((total_responses++) % (uint64_t)frame_count);
        inflight--;
        if (done >= window_start && done < window_end) {
          responses++;
          bytes += frames[frame_index].length;
          add_sample((done - sent) * 1e6);
          if (trace != NULL) fprintf(trace, "%.6f %.1f\n", done - trace_origin, (done - sent) * 1e6);
        }
      }
      memmove(read_buffer, read_buffer + at, read_length - at);
      read_length -= at;
    }
    if (count > 0 && total_responses >= count) break;
    /* Wait for the socket, or until the next scheduled request. */
    int can_send = !writing && inflight < inflight_max && (count == 0 || total_sent < count);
    if (can_send && (rate <= 0 || next_due <= now_s())) continue;
    struct pollfd pfd = {fd, POLLIN | (writing ? POLLOUT : 0), 0};
    struct timespec timeout = {0, 0};
    struct timespec *wait = NULL;
    double until = window_end;
    if (rate > 0 && can_send && next_due < until) until = next_due;
    double left = until - now_s();
    if (left < 0) left = 0;
    timeout.tv_sec = (time_t)left;
    timeout.tv_nsec = (long)((left - (double)timeout.tv_sec) * 1e9);
    wait = &timeout;
    ppoll(&pfd, 1, wait, NULL);
  }
  cpu1 = cpu_s();
  if (trace != NULL) fclose(trace);
  printf("{\"mode\":\"send\",\"frames\":%d,\"inflight\":%d,\"rate\":%.1f,\"requests\":%" PRIu64 ",\"bytes\":%" PRIu64
         ",\"seconds\":%.3f,\"requestsPerSec\":%.1f,\"mbPerSec\":%.3f,\"cpuSeconds\":%.3f",
         frame_count, inflight_max, rate, responses, bytes, seconds, responses / seconds, bytes / seconds / 1e6,
         cpu1 - cpu0);
  print_latency();
  printf("}\n");
  close(fd);
  return 0;
}

/* ---- fetch ---- */

static void put16(uint8_t **p, int16_t v) {
  uint16_t n = htons((uint16_t)v);
  memcpy(*p, &n, 2);
  *p += 2;
}
static void put32(uint8_t **p, int32_t v) {
  uint32_t n = htonl((uint32_t)v);
  memcpy(*p, &n, 4);
  *p += 4;
}
static void put64(uint8_t **p, int64_t v) {
  put32(p, (int32_t)(v >> 32));
  put32(p, (int32_t)(v & 0xffffffff));
}
static int32_t get32(const uint8_t *p) {
  uint32_t n;
  memcpy(&n, p, 4);
  return (int32_t)ntohl(n);
}
static int16_t get16(const uint8_t *p) {
  uint16_t n;
  memcpy(&n, p, 2);
  return (int16_t)ntohs(n);
}
static int64_t get64(const uint8_t *p) {
  return ((int64_t)get32(p) << 32) | (uint32_t)get32(p + 4);
}

static size_t build_fetch(uint8_t *out, int32_t correlation_id, const char *topic, int32_t partition, int64_t offset,
                          int32_t max_bytes) {
  uint8_t *p = out + 4;
  put16(&p, 1);  /* Fetch */
  put16(&p, 4);  /* v4 */
  put32(&p, correlation_id);
  put16(&p, 8);
  memcpy(p, "framegen", 8);
  p += 8;
  put32(&p, -1);        /* replica id */
  put32(&p, 500);       /* max wait ms */
  put32(&p, 1);         /* min bytes */
  put32(&p, max_bytes); /* max bytes */
  *p++ = 0;             /* isolation level */
  put32(&p, 1);
  size_t topic_length = strlen(topic);
  put16(&p, (int16_t)topic_length);
  memcpy(p, topic, topic_length);
  p += topic_length;
  put32(&p, 1);
  put32(&p, partition);
  put64(&p, offset);
  put32(&p, max_bytes);
  size_t length = (size_t)(p - out);
  uint8_t *q = out;
  put32(&q, (int32_t)(length - 4));
  return length;
}

static int read_fully(int fd, uint8_t *buffer, size_t length) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = read(fd, buffer + done, length - done);
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

static int run_fetch(const char *host, int port, const char *topic, int32_t partition, int32_t max_bytes,
                     double seconds, double warmup, int raw) {
  int fd = connect_to(host, port, 0);
  uint8_t request[512];
  size_t capacity = (size_t)max_bytes + (1 << 20);
  uint8_t *response = malloc(capacity);
  int64_t offset = 0;
  int32_t correlation_id = 0;
  uint64_t responses = 0, bytes = 0, records = 0, wraps = 0, empty = 0;
  double start = now_s();
  double window_start = start + warmup, window_end = window_start + seconds;
  double cpu0 = -1;
  for (;;) {
    double t = now_s();
    if (cpu0 < 0 && t >= window_start) cpu0 = cpu_s();
    if (t >= window_end) break;
    size_t length = build_fetch(request, ++correlation_id, topic, partition, offset, max_bytes);
    if (write(fd, request, length) != (ssize_t)length) die("write", strerror(errno));
    uint8_t size_bytes[4];
    if (read_fully(fd, size_bytes, 4) != 0) die("read", "connection closed");
    size_t size = (size_t)get32(size_bytes);
    if (size > capacity) {
      capacity = size;
      response = realloc(response, capacity);
    }
    if (read_fully(fd, response, size) != 0) die("read", "connection closed");
    double done = now_s();
    uint64_t payload = 0, batch_records = 0;
    if (raw) {
      payload = size - 4;
    } else {
      /* correlation id, throttle, [topic: name, [partition, error, hw, lso, aborted[], records]] */
      const uint8_t *p = response + 4 + 4;
      p += 4; /* one topic */
      p += 2 + get16(p);
      p += 4; /* one partition */
      p += 4;
      int16_t error = get16(p);
      p += 2;
      int64_t high_watermark = get64(p);
      p += 8 + 8;
      int32_t aborted = get32(p);
      p += 4 + (aborted > 0 ? aborted * 16 : 0);
      int32_t records_length = get32(p);
      p += 4;
      if (error != 0) {
        char message[64];
        snprintf(message, sizeof message, "error code %d", error);
        die("fetch", message);
      }
      int64_t next = offset;
      int32_t at = 0;
      while (records_length > 0 && at + 61 <= records_length) {
        int64_t base = get64(p + at);
        int32_t batch_length = get32(p + at + 8);
        if (at + 12 + batch_length > records_length) break;
        next = base + get32(p + at + 23) + 1;
        batch_records += (uint32_t)get32(p + at + 57);
        at += 12 + batch_length;
      }
      payload = (uint64_t)(records_length > 0 ? records_length : 0);
      if (next >= high_watermark) {
        next = 0;
        wraps++;
      }
      if (records_length <= 0) empty++;
      offset = next;
    }
    if (done >= window_start && done < window_end) {
      responses++;
      bytes += payload;
      records += batch_records;
      add_sample((done - t) * 1e6);
    }
  }
  double cpu1 = cpu_s();
  printf("{\"mode\":\"fetch\",\"raw\":%s,\"responses\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"records\":%" PRIu64
         ",\"seconds\":%.3f,\"mbPerSec\":%.3f,\"recordsPerSec\":%.1f,\"wraps\":%" PRIu64 ",\"empty\":%" PRIu64
         ",\"cpuSeconds\":%.3f",
         raw ? "true" : "false", responses, bytes, records, seconds, bytes / seconds / 1e6, records / seconds, wraps,
         empty, cpu1 - cpu0);
  print_latency();
  printf("}\n");
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) die("usage", "framegen send|fetch ...");
  const char *mode = argv[1];
  const char *host = "127.0.0.1", *path = NULL, *topic = NULL;
  int port = 0, inflight = 1, raw = 0;
  uint64_t count = 0;
  int32_t partition = 0, max_bytes = 1 << 20;
  double seconds = 5, warmup = 1, rate = 0;
  int opt;
  optind = 2;
  while ((opt = getopt(argc, argv, "h:p:f:n:d:w:r:t:P:m:Rc:")) != -1) {
    switch (opt) {
      case 'h': host = optarg; break;
      case 'p': port = atoi(optarg); break;
      case 'f': path = optarg; break;
      case 'n': inflight = atoi(optarg); break;
      case 'd': seconds = atof(optarg); break;
      case 'w': warmup = atof(optarg); break;
      case 'r': rate = atof(optarg); break;
      case 't': topic = optarg; break;
      case 'P': partition = atoi(optarg); break;
      case 'm': max_bytes = atoi(optarg); break;
      case 'R': raw = 1; break;
      case 'c': count = strtoull(optarg, NULL, 10); break;
      default: die("usage", "unknown option");
    }
  }
  if (port <= 0) die("usage", "-p PORT is required");
  if (inflight < 1 || inflight > 60000) die("usage", "-n must be 1..60000");
  if (strcmp(mode, "send") == 0) {
    if (path == NULL) die("usage", "send needs -f FRAMES");
    return run_send(host, port, path, inflight, seconds, warmup, rate, count);
  }
  if (strcmp(mode, "fetch") == 0) {
    if (topic == NULL && !raw) die("usage", "fetch needs -t TOPIC");
    return run_fetch(host, port, topic ? topic : "raw", partition, max_bytes, seconds, warmup, raw);
  }
  die("usage", "mode must be send or fetch");
  return 1;
}
