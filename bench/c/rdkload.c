/*
 * librdkafka load generator for the benchmark (the same producer and consumer as kcat, without
 * kcat's line parsing, so the client spends as little CPU as possible).
 *
 *   rdkload produce -b HOST:PORT -t TOPIC [-s SIZE] [-d SECONDS] [-w WARMUP] [-r RATE] [-X k=v]...
 *   rdkload consume -b HOST:PORT -t TOPIC [-p PARTITIONS] [-d SECONDS] [-X k=v]...
 *   rdkload e2e     -b HOST:PORT -t TOPIC [-s SIZE] [-d SECONDS] [-w WARMUP] -r RATE [-X k=v]...
 *
 * produce: records of SIZE bytes (default 100), null key, to partition RD_KAFKA_PARTITION_UA (the
 *   default partitioner), as fast as the client queue allows (or at RATE records/s). Counts the
 *   records whose delivery report arrived without error inside the measured window.
 * consume: reads every partition from the beginning (no group), again from the beginning whenever it
 *   reaches the end, and counts records and bytes inside the window.
 * e2e:     produces at RATE records/s with the send time (CLOCK_MONOTONIC) in the first 8 bytes
 *   of each value and consumes the same topic in the same process: latency = receive time - send
 *   time, produce to consume.
 * Prints one JSON object on stdout. CPU is this process's user+system time over the window.
 */
#define _GNU_SOURCE
#include <librdkafka/rdkafka.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "rdkload: %s: %s\n", what, detail);
  exit(1);
}

struct options {
  const char *mode;
  const char *brokers;
  const char *topic;
  int size;
  double seconds;
  double warmup;
  double rate;
  int partitions;
  const char *conf[64][2];
  int conf_count;
};

static void set_conf(rd_kafka_conf_t *conf, const char *key, const char *value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) die(key, errstr);
}

static rd_kafka_conf_t *base_conf(const struct options *o) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set_conf(conf, "bootstrap.servers", o->brokers);
  set_conf(conf, "log_level", "3");
  for (int i = 0; i < o->conf_count; i++) set_conf(conf, o->conf[i][0], o->conf[i][1]);
  return conf;
}

/* ---- delivery accounting ---- */

static volatile double window_start = 1e18, window_end = 1e18;
static uint64_t delivered_in_window, delivered_total, failed_total;
static char first_error[256];

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
  (void)rk;
  (void)opaque;
  if (msg->err) {
    if (failed_total++ == 0) snprintf(first_error, sizeof first_error, "%s", rd_kafka_err2str(msg->err));
    return;
  }
  delivered_total++;
  double t = now_s();
  if (t >= window_start && t < window_end) delivered_in_window++;
}

static rd_kafka_t *new_producer(const struct options *o) {
  char errstr[512];
  rd_kafka_conf_t *conf = base_conf(o);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL) die("rd_kafka_new", errstr);
  return rk;
}

/* Produces until `until`, at `rate` records/s when > 0; `stamp` writes the send time into the value. */
static void produce_loop(rd_kafka_t *rk, rd_kafka_topic_t *rkt, char *payload, int size, double until, double rate,
                         int stamp) {
  double start = now_s();
  uint64_t sent = 0;
  for (;;) {
    double t = now_s();
    if (t >= until) break;
    if (rate > 0) {
      double due = start + (double)sent / rate;
      if (due > t) {
        double wait = due - t;
        if (wait > 0.0002) {
          struct timespec ts = {0, (long)(wait * 1e9 * 0.9)};
          rd_kafka_poll(rk, 0);
          nanosleep(&ts, NULL);
        }
        continue;
      }
    }
    char *value = payload;
    int flags = 0;
    if (stamp) {
      value = malloc((size_t)size);
      memcpy(value, payload, (size_t)size);
      int64_t ns = now_ns();
      memcpy(value, &ns, sizeof ns);
      flags = RD_KAFKA_MSG_F_FREE;
    }
    if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, flags, value, (size_t)size, NULL, 0, NULL) == -1) {
      if (stamp) free(value);
      if (rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 1);
        continue;
      }
      die("produce", rd_kafka_err2str(rd_kafka_last_error()));
    }
    sent++;
    if ((sent & 1023) == 0) rd_kafka_poll(rk, 0);
  }
}

static int run_produce(const struct options *o) {
  rd_kafka_t *rk = new_producer(o);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  char *payload = malloc((size_t)o->size);
  memset(payload, 'x', (size_t)o->size);
  double start = now_s();
  window_start = start + o->warmup;
  window_end = window_start + o->seconds;
  double cpu0 = -1, cpu1 = -1;
  /* Produce in slices so that CPU can be sampled at the window's edges. */
  produce_loop(rk, rkt, payload, o->size, window_start, o->rate, 0);
  cpu0 = cpu_s();
  produce_loop(rk, rkt, payload, o->size, window_end, o->rate, 0);
  cpu1 = cpu_s();
  rd_kafka_flush(rk, 30000);
  double elapsed = o->seconds;
  printf("{\"mode\":\"produce\",\"records\":%" PRIu64 ",\"bytes\":%" PRIu64
         ",\"seconds\":%.3f,\"recordsPerSec\":%.1f,\"mbPerSec\":%.3f,\"cpuSeconds\":%.3f,"
         "\"deliveredTotal\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"firstError\":\"%s\",\"outq\":%d}\n",
         delivered_in_window, delivered_in_window * (uint64_t)o->size, elapsed, (double)delivered_in_window / elapsed,
         (double)delivered_in_window * o->size / elapsed / 1e6, cpu1 - cpu0, delivered_total, failed_total,
         first_error, rd_kafka_outq_len(rk));
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  free(payload);
  return failed_total > 0 ? 2 : 0;
}

/* ---- consuming (legacy queue API: no group, no offset commits) ---- */

static rd_kafka_t *new_consumer(const struct options *o, rd_kafka_topic_t **rkt_out, rd_kafka_queue_t **queue_out,
                                int64_t start_offset, int partition_eof) {
  char errstr[512];
  rd_kafka_conf_t *conf = base_conf(o);
  set_conf(conf, "enable.auto.commit", "false");
  set_conf(conf, "enable.auto.offset.store", "false");
  set_conf(conf, "enable.partition.eof", partition_eof ? "true" : "false");
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == NULL) die("rd_kafka_new", errstr);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  for (int p = 0; p < o->partitions; p++) {
    if (rd_kafka_consume_start_queue(rkt, p, start_offset, queue) == -1) {
      die("consume_start", rd_kafka_err2str(rd_kafka_last_error()));
    }
  }
  *rkt_out = rkt;
  *queue_out = queue;
  return rk;
}

static void stop_consumer(rd_kafka_t *rk, rd_kafka_topic_t *rkt, rd_kafka_queue_t *queue, int partitions) {
  for (int p = 0; p < partitions; p++) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
}

static int run_consume(const struct options *o) {
  rd_kafka_topic_t *rkt;
  rd_kafka_queue_t *queue;
  rd_kafka_t *rk = new_consumer(o, &rkt, &queue, RD_KAFKA_OFFSET_BEGINNING, 1);
  rd_kafka_message_t *batch[4096];
  uint64_t records = 0, bytes = 0, errors = 0, wraps = 0;
  double start = now_s();
  window_start = start + o->warmup;
  window_end = window_start + o->seconds;
  double cpu0 = -1, cpu1 = -1;
  /* Reads the partitions again from the beginning whenever it reaches their end, so the whole window
     reads what is in the log. */
  for (;;) {
    double t = now_s();
    if (cpu0 < 0 && t >= window_start) cpu0 = cpu_s();
    if (t >= window_end) break;
    ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch, 4096);
    t = now_s();
    int in_window = t >= window_start && t < window_end;
    for (ssize_t i = 0; i < n; i++) {
      rd_kafka_message_t *m = batch[i];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        rd_kafka_seek(rkt, m->partition, RD_KAFKA_OFFSET_BEGINNING, 5000);
        wraps++;
      } else if (m->err) {
        errors++;
      } else if (in_window) {
        records++;
        bytes += m->len;
      }
      rd_kafka_message_destroy(m);
    }
  }
  cpu1 = cpu_s();
  printf("{\"mode\":\"consume\",\"records\":%" PRIu64 ",\"bytes\":%" PRIu64
         ",\"seconds\":%.3f,\"recordsPerSec\":%.1f,\"mbPerSec\":%.3f,\"cpuSeconds\":%.3f,\"errors\":%" PRIu64
         ",\"wraps\":%" PRIu64 "}\n",
         records, bytes, o->seconds, records / o->seconds, bytes / o->seconds / 1e6, cpu1 - cpu0, errors, wraps);
  stop_consumer(rk, rkt, queue, o->partitions);
  return 0;
}

/* ---- end to end ---- */

struct e2e_state {
  const struct options *o;
  rd_kafka_queue_t *queue;
  volatile int stop;
  double *latencies;
  size_t count, capacity;
  uint64_t received;
};

static void *e2e_consume(void *arg) {
  struct e2e_state *s = arg;
  rd_kafka_message_t *batch[1024];
  while (!s->stop) {
    ssize_t n = rd_kafka_consume_batch_queue(s->queue, 50, batch, 1024);
    int64_t t = now_ns();
    for (ssize_t i = 0; i < n; i++) {
      rd_kafka_message_t *m = batch[i];
      if (!m->err && m->len >= 8) {
        int64_t sent;
        memcpy(&sent, m->payload, sizeof sent);
        double seconds = (double)sent / 1e9;
        s->received++;
        if (seconds >= window_start && seconds < window_end) {
          if (s->count == s->capacity) {
            s->capacity = s->capacity ? s->capacity * 2 : 1 << 20;
            s->latencies = realloc(s->latencies, s->capacity * sizeof(double));
          }
          s->latencies[s->count++] = (double)(t - sent) / 1e3; /* microseconds */
        }
      }
      rd_kafka_message_destroy(m);
    }
  }
  return NULL;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p) {
  if (n == 0) return -1;
  size_t index = (size_t)(p * (double)(n - 1) + 0.5);
  return sorted[index < n ? index : n - 1];
}

static int run_e2e(const struct options *o) {
  if (o->rate <= 0) die("e2e", "needs -r RATE");
  rd_kafka_topic_t *crkt;
  struct e2e_state s = {0};
  s.o = o;
  rd_kafka_t *consumer = new_consumer(o, &crkt, &s.queue, RD_KAFKA_OFFSET_END, 0);
  pthread_t thread;
  pthread_create(&thread, NULL, e2e_consume, &s);
  rd_kafka_t *rk = new_producer(o);
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  char *payload = malloc((size_t)o->size);
  memset(payload, 'x', (size_t)o->size);
  /* Give the consumer time to resolve its start offset before the window opens. */
  double start = now_s();
  window_start = start + o->warmup;
  window_end = window_start + o->seconds;
  produce_loop(rk, rkt, payload, o->size, window_start, o->rate, 1);
  double cpu0 = cpu_s();
  produce_loop(rk, rkt, payload, o->size, window_end, o->rate, 1);
  rd_kafka_flush(rk, 10000);
  double settle = now_s() + 2.0;
  while (now_s() < settle && s.count < delivered_in_window) usleep(10000);
  double cpu1 = cpu_s();
  s.stop = 1;
  pthread_join(thread, NULL);
  qsort(s.latencies, s.count, sizeof(double), compare_doubles);
  printf("{\"mode\":\"e2e\",\"rate\":%.1f,\"sent\":%" PRIu64 ",\"measured\":%zu,\"failed\":%" PRIu64
         ",\"p50Us\":%.1f,\"p99Us\":%.1f,\"p999Us\":%.1f,\"maxUs\":%.1f,\"cpuSeconds\":%.3f}\n",
         o->rate, delivered_in_window, s.count, failed_total, percentile(s.latencies, s.count, 0.5),
         percentile(s.latencies, s.count, 0.99), percentile(s.latencies, s.count, 0.999),
         s.count ? s.latencies[s.count - 1] : -1, cpu1 - cpu0);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  stop_consumer(consumer, crkt, s.queue, o->partitions);
  free(payload);
  free(s.latencies);
  return 0;
}

int main(int argc, char **argv) {
  struct options o = {0};
  o.size = 100;
  o.seconds = 5;
  o.warmup = 1;
  o.partitions = 1;
  if (argc < 2) die("usage", "rdkload produce|consume|e2e -b BROKERS -t TOPIC [...]");
  o.mode = argv[1];
  int opt;
  optind = 2;
  while ((opt = getopt(argc, argv, "b:t:s:d:w:r:p:X:")) != -1) {
    switch (opt) {
      case 'b': o.brokers = optarg; break;
      case 't': o.topic = optarg; break;
      case 's': o.size = atoi(optarg); break;
      case 'd': o.seconds = atof(optarg); break;
      case 'w': o.warmup = atof(optarg); break;
      case 'r': o.rate = atof(optarg); break;
      case 'p': o.partitions = atoi(optarg); break;
      case 'X': {
        char *eq = strchr(optarg, '=');
        if (eq == NULL || o.conf_count == 64) die("-X", "expects key=value");
        *eq = '\0';
        o.conf[o.conf_count][0] = optarg;
        o.conf[o.conf_count][1] = eq + 1;
        o.conf_count++;
        break;
      }
      default: die("usage", "unknown option");
    }
  }
  if (o.brokers == NULL || o.topic == NULL) die("usage", "-b and -t are required");
  if (o.size < 8) o.size = 8;
  if (strcmp(o.mode, "produce") == 0) return run_produce(&o);
  if (strcmp(o.mode, "consume") == 0) return run_consume(&o);
  if (strcmp(o.mode, "e2e") == 0) return run_e2e(&o);
  die("usage", "mode must be produce, consume or e2e");
  return 1;
}
