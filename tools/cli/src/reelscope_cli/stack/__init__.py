"""The local stack: RabbitMQ, the collector, Prometheus and the four services as local processes."""
