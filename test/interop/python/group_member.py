#!/usr/bin/python3
"""One consumer-group member (kafka-python or confluent-kafka) that runs until SIGTERM.

The Python twin of helpers/group-member.ts. Input (stdin, one JSON document): {"client":
"kafka-python" | "confluent", "bootstrap", "group", "topic", "clientId", "sessionTimeoutMs",
"heartbeatIntervalMs", optional "strategy" (assignor name; librdkafka: comma-separated list) and
"groupInstanceId"}. Output (stdout, one JSON line per event, flushed at once):
  {"ev": "started", "info": {...}}
  {"ev": "assigned" | "revoked" | "lost", "partitions": [...], "assignment": [...]}  (from the
      client's rebalance callbacks; "partitions" is what the callback got, "assignment" what the
      member owns afterwards)
  {"ev": "record", "p", "o", "v"}        a record processed (value as UTF-8)
  {"ev": "committed", "p", "o"}          the broker acknowledged the commit of offset o
  {"ev": "commitFailed", "p", "o", "error"}
  {"ev": "dropped", "p", "o"}            a record of a partition no longer owned, not processed
  {"ev": "stale", "p", "o"}              a record below this member's own commit (fetched before a
                                         rebalance and handed out again after it), not processed
  {"ev": "error", "message"}, {"ev": "closed"}
Each record is committed synchronously before the next one is processed. SIGTERM: finish the
record in hand, close the consumer (which leaves the group, unless it is a static member), exit 0.
"""
import json
import os
import signal
import sys

stopping = False
committed = {}


def should_process(partition, offset, assignment):
    """Only records of owned partitions, never below what this member committed itself."""
    if partition not in assignment:
        emit({"ev": "dropped", "p": partition, "o": offset})
        return False
    if offset < committed.get(partition, 0):
        emit({"ev": "stale", "p": partition, "o": offset})
        return False
    return True


def note_committed(partition, next_offset):
    committed[partition] = max(committed.get(partition, 0), next_offset)
    emit({"ev": "committed", "p": partition, "o": next_offset})


def on_sigterm(signum, frame):
    global stopping
    stopping = True


PARENT = os.getppid()


def orphaned():
    """Should the test process die without stopping this member, do not linger."""
    return os.getppid() != PARENT


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def run_kafka_python(spec, assignment):
    import kafka
    from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.structs import OffsetAndMetadata

    assignors = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}
    strategy = [assignors[name] for name in spec.get("strategy", "range,roundrobin").split(",")]
    consumer = KafkaConsumer(
        bootstrap_servers=spec["bootstrap"],
        client_id=spec["clientId"],
        group_id=spec["group"],
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=spec["sessionTimeoutMs"],
        heartbeat_interval_ms=spec["heartbeatIntervalMs"],
        partition_assignment_strategy=strategy,
        fetch_max_wait_ms=100,
        max_poll_records=50,
    )

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            partitions = sorted(tp.partition for tp in revoked if tp.topic == spec["topic"])
            assignment.clear()
            emit({"ev": "revoked", "partitions": partitions, "assignment": []})

        def on_partitions_assigned(self, assigned):
            partitions = sorted(tp.partition for tp in assigned if tp.topic == spec["topic"])
            assignment.clear()
            assignment.update(partitions)
            emit({"ev": "assigned", "partitions": partitions, "assignment": partitions})

    consumer.subscribe([spec["topic"]], listener=Listener())
    emit({"ev": "started", "info": {"kafka-python": kafka.__version__,
                                    "api_version": ".".join(str(part) for part in consumer.config["api_version"])}})
    while not stopping and not orphaned():
        for tp, records in consumer.poll(timeout_ms=200).items():
            for record in records:
                if stopping:
                    break
                if not should_process(tp.partition, record.offset, assignment):
                    continue
                emit({"ev": "record", "p": tp.partition, "o": record.offset,
                      "v": None if record.value is None else record.value.decode("utf-8")})
                try:
                    consumer.commit({TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(record.offset + 1, None)})
                    note_committed(tp.partition, record.offset + 1)
                except Exception as error:  # CommitFailedError and friends: report, go on
                    emit({"ev": "commitFailed", "p": tp.partition, "o": record.offset + 1, "error": repr(error)})
    consumer.close(autocommit=False)


def run_confluent(spec, assignment):
    import confluent_kafka

    config = {
        "bootstrap.servers": spec["bootstrap"],
        "client.id": spec["clientId"],
        "group.id": spec["group"],
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": spec["sessionTimeoutMs"],
        "heartbeat.interval.ms": spec["heartbeatIntervalMs"],
        "fetch.wait.max.ms": 100,
    }
    if "strategy" in spec:
        config["partition.assignment.strategy"] = spec["strategy"]
    if "groupInstanceId" in spec:
        config["group.instance.id"] = spec["groupInstanceId"]
    consumer = confluent_kafka.Consumer(config)

    # The client (incrementally, for cooperative-sticky) assigns or unassigns after each callback.
    def on_assign(consumer, partitions):
        mine = sorted(tp.partition for tp in partitions if tp.topic == spec["topic"])
        assignment.update(mine)
        emit({"ev": "assigned", "partitions": mine, "assignment": sorted(assignment)})

    def on_revoke(consumer, partitions):
        mine = sorted(tp.partition for tp in partitions if tp.topic == spec["topic"])
        assignment.difference_update(mine)
        emit({"ev": "revoked", "partitions": mine, "assignment": sorted(assignment)})

    def on_lost(consumer, partitions):
        mine = sorted(tp.partition for tp in partitions if tp.topic == spec["topic"])
        assignment.difference_update(mine)
        emit({"ev": "lost", "partitions": mine, "assignment": sorted(assignment)})

    consumer.subscribe([spec["topic"]], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    emit({"ev": "started", "info": {"confluent-kafka": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}})
    while not stopping and not orphaned():
        for message in consumer.consume(num_messages=50, timeout=0.2):
            if stopping:
                break
            if message.error() is not None:
                emit({"ev": "error", "message": str(message.error())})
                continue
            if not should_process(message.partition(), message.offset(), assignment):
                continue
            value = message.value()
            emit({"ev": "record", "p": message.partition(), "o": message.offset(),
                  "v": None if value is None else value.decode("utf-8")})
            try:
                consumer.commit(message=message, asynchronous=False)
                note_committed(message.partition(), message.offset() + 1)
            except confluent_kafka.KafkaException as error:
                emit({"ev": "commitFailed", "p": message.partition(), "o": message.offset() + 1, "error": str(error)})
    consumer.close()


def main():
    spec = json.load(sys.stdin)
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    assignment = set()
    try:
        if spec["client"] == "kafka-python":
            run_kafka_python(spec, assignment)
        elif spec["client"] == "confluent":
            run_confluent(spec, assignment)
        else:
            raise SystemExit(f"unknown client {spec['client']}")
        emit({"ev": "closed"})
    except Exception as error:
        emit({"ev": "error", "message": f"{type(error).__name__}: {error}"})
        sys.stdout.flush()
        os._exit(1)
    sys.stdout.flush()
    # confluent-kafka 1.7 (Debian 12) may abort at interpreter exit; nothing is left to finalise.
    os._exit(0)


if __name__ == "__main__":
    main()
