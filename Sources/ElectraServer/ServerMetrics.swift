import Foundation
import Prometheus

/// What /metrics reports (Prometheus text), under TEI's metric names where TEI has them:
/// requests by route and status, the queue, batch sizes and tokens, latencies.
public final class ServerMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    let queueGauge: Gauge
    let batchSize: ValueHistogram
    let batchTokens: ValueHistogram
    let inferenceSeconds: ValueHistogram
    let droppedRequests: Counter
    let lock = NSLock()
    var requestCounters: [String: Counter] = [:]
    var durations: [String: ValueHistogram] = [:]

    public init() {
        queueGauge = registry.makeGauge(descriptor: Self.name("te_queue_size", "Windows waiting for a batch"))
        batchSize = registry.makeValueHistogram(descriptor: Self.name("te_batch_next_size", "Inputs per forward pass"), buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256])
        batchTokens = registry.makeValueHistogram(descriptor: Self.name("te_batch_next_tokens", "Tokens per forward pass"), buckets: [16, 64, 256, 1024, 4096, 16384, 65536])
        droppedRequests = registry.makeCounter(descriptor: Self.name("electra_requests_dropped_total", "Requests dropped unanswered before computing: their client went away"))
        inferenceSeconds = registry.makeValueHistogram(descriptor: Self.name("te_batch_inference_duration", "Seconds per forward pass"), buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])
    }

    /// A descriptor that emits exactly `full` (TEI's names): swift-prometheus joins its metric
    /// and unit names with "_", so the last component is the unit.
    static func name(_ full: String, _ help: String) -> MetricNameDescriptor {
        let cut = full.lastIndex(of: "_")!
        return MetricNameDescriptor(metricName: String(full[..<cut]), unitName: String(full[full.index(after: cut)...]), helpText: help)
    }

    func queue(_ n: Int) { queueGauge.set(Double(n)) }
    func dropped() { droppedRequests.increment() }

    func batch(size: Int, tokens: Int, seconds: Double) {
        batchSize.record(Double(size))
        batchTokens.record(Double(tokens))
        inferenceSeconds.record(seconds)
    }

    /// One finished request: its route, HTTP status and seconds from arrival to response.
    func request(route: String, status: Int, seconds: Double) {
        let key = "\(route) \(status)"
        let (counter, histogram) = lock.withLock { () -> (Counter, ValueHistogram) in
            if requestCounters[key] == nil {
                requestCounters[key] = registry.makeCounter(descriptor: Self.name("te_request_count", "Requests by route and HTTP status"), labels: [("method", route), ("status", "\(status)")])
            }
            if durations[route] == nil {
                durations[route] = registry.makeValueHistogram(descriptor: Self.name("te_request_duration", "Seconds from a request's arrival to its response"),
                                                               labels: [("method", route)],
                                                               buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
            }
            return (requestCounters[key]!, durations[route]!)
        }
        counter.increment()
        histogram.record(seconds)
    }

    public func text() -> String {
        registry.emitToString()
    }
}
