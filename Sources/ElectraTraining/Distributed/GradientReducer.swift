import Electra
import Foundation

/// Sums every rank's gradients (allreduce), in buckets, overlapped with the backward pass:
/// a bucket is one encoder layer's parameters (or the rest: embeddings, heads), and a layer's
/// bucket is marked ready by the backbone's hook as soon as its backward is done, so its
/// allreduce runs on this reducer's thread while the layers below are still in backward.
///
/// Buckets go out in one fixed order on every rank (MPI collectives must match): the models
/// in reverse saving order (a task backpropagates its last-saved model first: RTD's generator,
/// then its discriminator), each model's layers top down, then the rest. A bucket marked ready
/// out of that order waits for the ones before it; `finish` marks all ready (a rank without
/// data in a step's last, partial group still takes part) and waits until all are summed.
/// Each bucket is packed into one buffer, so a layer is one collective, not twelve.
public final class GradientReducer: @unchecked Sendable {
    let group: any ProcessGroup
    /// Parameters per bucket, in the order the buckets are reduced.
    public let buckets: [[Parameter]]
    /// The bucket of each entry of `layers` (nil: it had no parameter of its own).
    private let layerBucket: [Int?]
    private let buffers: [UnsafeMutablePointer<Float>]
    private let sizes: [Int]
    private let condition = NSCondition()
    private var ready: [Bool]
    private var next = 0, done = 0
    private var stopping = false

    /// `layers`: per layer bucket, its parameters in canonical order; every other trainable
    /// parameter goes in the last bucket.
    public init(group: any ProcessGroup, layers: [[Parameter]], all: [Parameter]) {
        self.group = group
        var seen = Set<ObjectIdentifier>()
        var buckets: [[Parameter]] = [], layerBucket: [Int?] = []
        for layer in layers {
            let fresh = layer.filter { seen.insert(ObjectIdentifier($0)).inserted }
            layerBucket.append(fresh.isEmpty ? nil : buckets.count)
            if !fresh.isEmpty { buckets.append(fresh) }
        }
        self.layerBucket = layerBucket
        let rest = all.filter { seen.insert(ObjectIdentifier($0)).inserted }
        if !rest.isEmpty { buckets.append(rest) }
        self.buckets = buckets
        sizes = buckets.map { $0.reduce(0) { $0 + $1.value.count } }
        buffers = sizes.map { UnsafeMutablePointer<Float>.allocate(capacity: max($0, 1)) }
        ready = Array(repeating: false, count: buckets.count)
        // The thread holds the reducer until `stop()`.
        let t = Thread { self.work() }
        t.name = "electra.allreduce"
        t.start()
    }

    deinit { for b in buffers { b.deallocate() } }

    /// Ends the reducer's thread (it is idle between steps); the trainer calls it when done.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    public func bucketIndex(layer: Int) -> Int? { layer < layerBucket.count ? layerBucket[layer] : nil }

    /// Whether the backbones' hooks mark buckets ready: set by `beginStep` (before the step's
    /// last local micro-batch, whose backward makes the gradients final), cleared by `finish`.
    public var armed = false
    private var hookedBackbones: [ElectraBackbone] = []

    /// A reducer whose layer buckets are `models`' encoder layers, hooked to their backbones:
    /// one bucket per layer, models in reverse order (a task backpropagates its last model
    /// first), layers top down (the order backward finishes them); parameters two models share
    /// (RTD's embeddings) go in the last bucket with everything else in `all`.
    public static func hooked(to models: [any ElectraHeadModel], all: [Parameter], group: any ProcessGroup) -> GradientReducer {
        var owners: [ObjectIdentifier: Int] = [:]
        for m in models {
            for (_, p) in m.parameters.uniqueParameters { owners[ObjectIdentifier(p), default: 0] += 1 }
        }
        var layers: [[Parameter]] = [], spans: [(backbone: ElectraBackbone, first: Int, count: Int)] = []
        for m in models.reversed() {
            let n = m.backbone.layers.count
            spans.append((m.backbone, layers.count, n))
            for i in stride(from: n - 1, through: 0, by: -1) {
                let tag = "encoder.layer.\(i)."
                layers.append(m.parameters.uniqueParameters
                    .filter { $0.name.contains(tag) && owners[ObjectIdentifier($0.parameter)] == 1 }.map(\.parameter))
            }
        }
        let reducer = GradientReducer(group: group, layers: layers, all: all)
        for (backbone, first, n) in spans {
            backbone.layerBackwardDone = { [weak reducer] i in
                guard let reducer, reducer.armed, let k = reducer.bucketIndex(layer: first + (n - 1 - i)) else { return }
                reducer.markReady(k)
            }
        }
        reducer.hookedBackbones = spans.map(\.backbone)
        return reducer
    }

    /// Removes the backbones' hooks.
    public func unhook() {
        for b in hookedBackbones { b.layerBackwardDone = nil }
        hookedBackbones = []
    }

    /// Before the step's last local micro-batch: nothing is ready yet; the hooks report.
    public func beginStep() {
        condition.lock()
        armed = true
        for k in ready.indices { ready[k] = false }
        next = 0
        done = 0
        condition.unlock()
    }

    /// A bucket's gradients are final on this rank.
    public func markReady(_ bucket: Int) {
        condition.lock()
        ready[bucket] = true
        condition.broadcast()
        condition.unlock()
    }

    /// Marks every bucket ready and waits until all are summed over the ranks.
    public func finish() {
        armed = false
        condition.lock()
        for k in ready.indices { ready[k] = true }
        condition.broadcast()
        while done < buckets.count { condition.wait() }
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while !stopping && !(next < buckets.count && ready[next]) { condition.wait() }
            if stopping { condition.unlock(); return }
            let k = next
            next += 1
            condition.unlock()
            reduce(k)
            condition.lock()
            done += 1
            condition.broadcast()
            condition.unlock()
        }
    }

    private func reduce(_ k: Int) {
        let buffer = buffers[k]
        var at = 0
        for p in buckets[k] {
            let n = p.value.count
            buffer.advanced(by: at).update(from: p.gradPointer, count: n)
            at += n
        }
        group.allreduceSumBeside(buffer, count: sizes[k])
        at = 0
        for p in buckets[k] {
            let n = p.value.count
            p.gradPointer.update(from: buffer.advanced(by: at), count: n)
            at += n
        }
    }
}
