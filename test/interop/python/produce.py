#!/usr/bin/python3
"""Produces the messages described on stdin with kafka-python or confluent-kafka (librdkafka).

Input (stdin, one JSON document): {"bootstrap": "host:port", "client": "kafka-python" | "confluent",
"clientId": str, "jobs": [{"topic": str, "codec": str, "messages": [{"partition": int,
"key": base64 | null, "value": base64 | null, "headers": [[str, base64 | null], ...],
"timestamp": int | null}]}]}.
Output (stdout, JSON lines): one {"job", "index", "topic", "partition", "offset"} per acknowledged
message, then {"done": true, "info": {...}}. Errors go to stderr and exit non-zero.
"""
import base64
import json
import sys


def b64(value):
    return None if value is None else base64.b64decode(value)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")


def produce_kafka_python(spec):
    from kafka import KafkaProducer

    info = {}
    for job_index, job in enumerate(spec["jobs"]):
        codec = job["codec"]
        producer = KafkaProducer(
            bootstrap_servers=spec["bootstrap"],
            client_id=spec["clientId"],
            acks="all",
            compression_type=None if codec == "none" else codec,
            linger_ms=5,
            max_in_flight_requests_per_connection=1,
            request_timeout_ms=15000,
        )
        info["api_version"] = ".".join(str(part) for part in producer.config["api_version"])
        futures = []
        for index, message in enumerate(job["messages"]):
            future = producer.send(
                job["topic"],
                value=b64(message["value"]),
                key=b64(message["key"]),
                headers=[(key, b64(value)) for key, value in message["headers"]],
                partition=message["partition"],
                timestamp_ms=message["timestamp"],
            )
            futures.append((index, future))
        producer.flush(timeout=30)
        for index, future in futures:
            metadata = future.get(timeout=30)
            emit({"job": job_index, "index": index, "topic": metadata.topic, "partition": metadata.partition, "offset": metadata.offset})
        producer.close(timeout=10)
    return info


def produce_confluent(spec):
    import confluent_kafka

    info = {"version": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}
    failures = []
    for job_index, job in enumerate(spec["jobs"]):
        producer = confluent_kafka.Producer({
            "bootstrap.servers": spec["bootstrap"],
            "client.id": spec["clientId"],
            "acks": "all",
            "enable.idempotence": True,
            "compression.codec": job["codec"],
            "linger.ms": 5,
        })
        delivered = []

        def on_delivery(error, message, index=None):
            if error is not None:
                failures.append(f"{job['topic']}#{index}: {error}")
            else:
                delivered.append({"job": job_index, "index": index, "topic": message.topic(), "partition": message.partition(), "offset": message.offset()})

        for index, message in enumerate(job["messages"]):
            kwargs = {"value": b64(message["value"]), "key": b64(message["key"]), "partition": message["partition"],
                      "headers": [(key, b64(value)) for key, value in message["headers"]],
                      "on_delivery": lambda error, msg, index=index: on_delivery(error, msg, index)}
            if message["timestamp"] is not None:
                kwargs["timestamp"] = message["timestamp"]
            producer.produce(job["topic"], **kwargs)
            producer.poll(0)
        remaining = producer.flush(30)
        if remaining:
            failures.append(f"{job['topic']}: {remaining} messages not delivered within 30 s")
        for report in sorted(delivered, key=lambda r: r["index"]):
            emit(report)
    if failures:
        raise RuntimeError("; ".join(failures))
    return info


def main():
    spec = json.load(sys.stdin)
    client = spec["client"]
    if client == "kafka-python":
        info = produce_kafka_python(spec)
    elif client == "confluent":
        info = produce_confluent(spec)
    else:
        raise SystemExit(f"unknown client {client}")
    emit({"done": True, "info": info})


if __name__ == "__main__":
    main()
