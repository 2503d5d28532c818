#!/usr/bin/python3
"""Reads Flywheel messages with clients no one on the project wrote.

librdkafka (confluent_kafka.Consumer) fetches the records, Confluent's SchemaRegistryClient fetches the
writer schema by the id in the 5-byte Confluent header, and Apache Avro's reference implementation
(avro.io.DatumReader) decodes the body. Prints one JSON object per record on stdout.

usage: read_with_confluent.py BOOTSTRAP REGISTRY_URL TOPIC COUNT
"""
import io
import json
import struct
import sys

import avro.io
import avro.schema
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient


def main() -> int:
    bootstrap, registry_url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    registry = SchemaRegistryClient({"url": registry_url})
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"python-interop-{topic}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    readers = {}
    done = 0
    empty_polls = 0
    try:
        while done < count and empty_polls < 60:
            msg = consumer.poll(1.0)
            if msg is None:
                empty_polls += 1
                continue
            if msg.error():
                raise RuntimeError(msg.error())
            value = msg.value()
            magic, schema_id = struct.unpack(">bI", value[:5])
            if magic != 0:
                raise ValueError(f"magic byte {magic}")
            if schema_id not in readers:
                registered = registry.get_schema(schema_id)
                readers[schema_id] = avro.io.DatumReader(avro.schema.parse(registered.schema_str))
            record = readers[schema_id].read(avro.io.BinaryDecoder(io.BytesIO(value[5:])))
            # timestamp-millis decodes to a timezone-aware datetime: print it as ISO-8601.
            print(json.dumps({"schema_id": schema_id, "key": msg.key().decode(), "value": record}, default=lambda v: v.isoformat()), flush=True)
            done += 1
    finally:
        consumer.close()
    return 0 if done == count else 1


if __name__ == "__main__":
    sys.exit(main())
