/*
 * The peer of the benchmark: librdkafka's in-memory mock broker (rdkafka_mock.h), one broker on
 * loopback. Usage: mock-broker TOPIC:PARTITIONS...
 * Prints the bootstrap address on one line once it listens, then serves until SIGTERM/SIGINT or
 * until its standard input closes.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *watch_stdin(void *arg) {
  char buf[256];
  (void)arg;
  while (read(0, buf, sizeof buf) > 0) {
  }
  kill(getpid(), SIGTERM);
  return NULL;
}

int main(int argc, char **argv) {
  char errstr[512];
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, NULL); /* before librdkafka starts its threads */

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL) {
    fprintf(stderr, "mock-broker: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, 1);
  if (cluster == NULL) {
    fprintf(stderr, "mock-broker: rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    char name[256];
    int partitions = 1;
    snprintf(name, sizeof name, "%s", argv[i]);
    char *colon = strrchr(name, ':');
    if (colon != NULL) {
      *colon = '\0';
      partitions = atoi(colon + 1);
    }
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name, partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fprintf(stderr, "mock-broker: topic %s: %s\n", name, rd_kafka_err2str(err));
      return 1;
    }
  }
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  fflush(stdout);

  pthread_t watcher;
  pthread_create(&watcher, NULL, watch_stdin, NULL);
  pthread_detach(watcher);
  int signal_number = 0;
  sigwait(&signals, &signal_number);

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
