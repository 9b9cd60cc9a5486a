#!/usr/bin/python3
"""Reads records with kafka-python or confluent-kafka (librdkafka) and prints each as a JSON line.

Input (stdin, one JSON document): {"bootstrap": "host:port", "client": "kafka-python" | "confluent",
"clientId": str, then either
  "partitions": [{"topic": str, "partition": int, "end": int}]: read those partitions from offset 0
  up to `end` WITHOUT a consumer group (assign, not subscribe); or
  "group": str, "topics": [str], "count": int: join the group, subscribe to the topics, read from
  the committed offsets (earliest without any) until `count` records arrived, commit, leave.
Output (stdout, JSON lines): {"topic", "partition", "offset", "timestamp", "timestampType", "key",
"value", "headers"} with bytes as base64 (null stays null), then {"done": true, "info": {...}}.
"""
import base64
import json
import os
import sys
import time


def b64(value):
    return None if value is None else base64.b64encode(bytes(value)).decode("ascii")


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")


def consume_kafka_python(spec, wanted, deadline):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=spec["bootstrap"],
        client_id=spec["clientId"],
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        request_timeout_ms=15000,
    )
    info = {"api_version": ".".join(str(part) for part in consumer.config["api_version"])}
    partitions = [TopicPartition(topic, partition) for (topic, partition) in wanted]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    remaining = {key for key, end in wanted.items() if end > 0}
    while remaining:
        if time.time() > deadline:
            raise RuntimeError(f"timed out; still reading {sorted(remaining)}")
        batches = consumer.poll(timeout_ms=500)
        for tp, records in batches.items():
            for record in records:
                emit({"topic": record.topic, "partition": record.partition, "offset": record.offset,
                      "timestamp": record.timestamp, "timestampType": record.timestamp_type,
                      "key": b64(record.key), "value": b64(record.value),
                      "headers": [[key, b64(value)] for key, value in (record.headers or [])]})
            if consumer.position(tp) >= wanted[(tp.topic, tp.partition)]:
                remaining.discard((tp.topic, tp.partition))
    consumer.close()
    return info


def consume_confluent(spec, wanted, deadline):
    import confluent_kafka

    info = {"version": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": spec["bootstrap"],
        "client.id": spec["clientId"],
        # librdkafka wants a group id even for assign(); no group is joined without subscribe().
        "group.id": "interop-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
    })
    consumer.assign([confluent_kafka.TopicPartition(topic, partition, confluent_kafka.OFFSET_BEGINNING)
                     for (topic, partition) in wanted])
    remaining = {key for key, end in wanted.items() if end > 0}
    while remaining:
        if time.time() > deadline:
            raise RuntimeError(f"timed out; still reading {sorted(remaining)}")
        for message in consumer.consume(num_messages=500, timeout=0.5):
            if message.error() is not None:
                raise RuntimeError(f"consume error: {message.error()}")
            timestamp_type, timestamp = message.timestamp()
            emit({"topic": message.topic(), "partition": message.partition(), "offset": message.offset(),
                  "timestamp": timestamp, "timestampType": timestamp_type - 1 if timestamp_type > 0 else -1,
                  "key": b64(message.key()), "value": b64(message.value()),
                  "headers": [[key, b64(value)] for key, value in (message.headers() or [])]})
            key = (message.topic(), message.partition())
            if message.offset() + 1 >= wanted.get(key, 0):
                remaining.discard(key)
    consumer.close()
    return info


def subscribe_kafka_python(spec, deadline):
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        *spec["topics"],
        bootstrap_servers=spec["bootstrap"],
        client_id=spec["clientId"],
        group_id=spec["group"],
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        request_timeout_ms=30000,
    )
    seen = 0
    while seen < spec["count"]:
        if time.time() > deadline:
            raise RuntimeError(f"timed out after {seen} of {spec['count']} records")
        for tp, records in consumer.poll(timeout_ms=500).items():
            for record in records:
                seen += 1
                emit({"topic": record.topic, "partition": record.partition, "offset": record.offset,
                      "timestamp": record.timestamp, "timestampType": record.timestamp_type,
                      "key": b64(record.key), "value": b64(record.value),
                      "headers": [[key, b64(value)] for key, value in (record.headers or [])]})
    consumer.commit()
    consumer.close()
    return {"api_version": ".".join(str(part) for part in consumer.config["api_version"])}


def subscribe_confluent(spec, deadline):
    import confluent_kafka

    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": spec["bootstrap"],
        "client.id": spec["clientId"],
        "group.id": spec["group"],
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
    })
    consumer.subscribe(spec["topics"])
    seen = 0
    while seen < spec["count"]:
        if time.time() > deadline:
            raise RuntimeError(f"timed out after {seen} of {spec['count']} records")
        for message in consumer.consume(num_messages=500, timeout=0.5):
            if message.error() is not None:
                raise RuntimeError(f"consume error: {message.error()}")
            seen += 1
            timestamp_type, timestamp = message.timestamp()
            emit({"topic": message.topic(), "partition": message.partition(), "offset": message.offset(),
                  "timestamp": timestamp, "timestampType": timestamp_type - 1 if timestamp_type > 0 else -1,
                  "key": b64(message.key()), "value": b64(message.value()),
                  "headers": [[key, b64(value)] for key, value in (message.headers() or [])]})
    consumer.commit(asynchronous=False)
    consumer.close()
    return {"version": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}


def main():
    spec = json.load(sys.stdin)
    deadline = time.time() + spec.get("timeoutSeconds", 60)
    client = spec["client"]
    if "group" in spec:
        if client == "kafka-python":
            info = subscribe_kafka_python(spec, deadline)
        elif client == "confluent":
            info = subscribe_confluent(spec, deadline)
        else:
            raise SystemExit(f"unknown client {client}")
    else:
        wanted = {(p["topic"], p["partition"]): p["end"] for p in spec["partitions"]}
        if client == "kafka-python":
            info = consume_kafka_python(spec, wanted, deadline)
        elif client == "confluent":
            info = consume_confluent(spec, wanted, deadline)
        else:
            raise SystemExit(f"unknown client {client}")
    emit({"done": True, "info": info})
    sys.stdout.flush()
    # confluent-kafka 1.7 (Debian 12) drops a reference to None for each null header value it hands
    # out, which aborts the interpreter at exit ("none_dealloc"); skip the finalisation.
    os._exit(0)


if __name__ == "__main__":
    main()
