import Foundation
import Testing

@testable import Electra
@testable import ElectraTraining

/// The pieces of data-parallel training that need no MPI: the gradient reducer's buckets and
/// order, the micro-batch seeds, the metrics' wire form. (mpirun end to end: DistributedCLITests.)
struct DistributedTests {
    /// A stand-in for 2 identical ranks: a sum doubles every value; it records each call's size.
    final class TwoIdenticalRanks: ProcessGroup, @unchecked Sendable {
        var rank: Int { 0 }
        var size: Int { 2 }
        let lock = NSLock()
        var calls: [Int] = []
        func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) {
            for i in 0..<count { values[i] *= 2 }
            lock.withLock { calls.append(count) }
        }
        func allreduceSumBeside(_ values: UnsafeMutablePointer<Float>, count: Int) { allreduceSum(values, count: count) }
        func allreduceSum(_ values: inout [Double]) { values = values.map { $0 * 2 } }
        func broadcast(_ values: inout [Double]) {}
        func gather(_ bytes: [UInt8]) -> [[UInt8]]? { [bytes, bytes] }
        func barrier() {}
    }

    func parameter(_ n: Int, grad: Float) -> Parameter {
        let p = Parameter(Tensor(zeros: [n]), role: .bias)
        p.gradPointer.update(repeating: grad, count: n)
        return p
    }

    @Test func bucketsAreSummedInOrderOnceEachEvenWhenMarkedOutOfOrder() {
        let group = TwoIdenticalRanks()
        let a = parameter(3, grad: 1), b = parameter(5, grad: 2), c = parameter(2, grad: 3), shared = parameter(4, grad: 4)
        // Layer buckets [a], [] (no parameter of its own), [b, a] (a already taken), then the rest.
        let reducer = GradientReducer(group: group, layers: [[a], [], [b, a]], all: [a, b, c, shared])
        defer { reducer.stop() }
        #expect(reducer.buckets.map { $0.map(\.value.count) } == [[3], [5], [2, 4]])
        #expect(reducer.bucketIndex(layer: 0) == 0 && reducer.bucketIndex(layer: 1) == nil && reducer.bucketIndex(layer: 2) == 1)
        reducer.beginStep()
        reducer.markReady(1)  // out of order: waits for bucket 0
        reducer.finish()
        #expect(group.calls == [3, 5, 6])
        for (p, g) in [(a, Float(2)), (b, 4), (c, 6), (shared, 8)] {
            #expect(Array(UnsafeBufferPointer(start: p.gradPointer, count: p.value.count)) == Array(repeating: g, count: p.value.count))
        }
        // A second step reduces again.
        reducer.beginStep()
        reducer.finish()
        #expect(group.calls.count == 6 && a.gradPointer[0] == 4)
    }

    @Test func microBatchSeedsDependOnSeedStepAndIndexOnly() {
        let s = MicroBatchSeed.derive(42, step: 3, microBatch: 1)
        #expect(s == MicroBatchSeed.derive(42, step: 3, microBatch: 1))
        let others = [MicroBatchSeed.derive(43, step: 3, microBatch: 1), MicroBatchSeed.derive(42, step: 4, microBatch: 1),
                      MicroBatchSeed.derive(42, step: 3, microBatch: 0), MicroBatchSeed.derive(42, step: 1, microBatch: 3)]
        #expect(!others.contains(s) && Set(others).count == others.count)
    }

    @Test func metricsSurviveTheWireNaNIncluded() {
        let m: [String: Double] = ["generator_loss": 4.25, "precision": .nan, "ünïcode": -1e-300]
        let back = MetricsWire.decode(MetricsWire.encode(m))
        #expect(back.count == 3 && back["generator_loss"] == 4.25 && back["precision"]!.isNaN && back["ünïcode"] == -1e-300)
        #expect(MetricsWire.decode([]).isEmpty)
    }
}
