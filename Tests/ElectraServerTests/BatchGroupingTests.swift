import Testing

@testable import ElectraServer

/// How the scheduler splits a batch into forwards: every window once, each forward at least
/// `minFill` real tokens (or a single window) and within the token budget.
struct BatchGroupingTests {
    @Test func similarLengthsShareAForwardAndOutliersGetTheirOwn() {
        let lengths = [40, 9, 38, 8, 95, 39, 7]
        let groups = BatchScheduler.groups(lengths: lengths, minFill: 0.8, maxTokens: 16384)
        let asLengths = groups.map { $0.map { lengths[$0] } }
        #expect(asLengths == [[95], [40, 39, 38], [9, 8, 7]])
    }

    @Test func everyWindowOnceWithinFillAndBudget() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let lengths = (0..<Int.random(in: 1...200, using: &rng)).map { _ in Int.random(in: 3...512, using: &rng) }
            let groups = BatchScheduler.groups(lengths: lengths, minFill: 0.8, maxTokens: 2048)
            #expect(groups.flatMap { $0 }.sorted() == Array(lengths.indices))
            for g in groups where g.count > 1 {
                let longest = g.map { lengths[$0] }.max()!, real = g.map { lengths[$0] }.reduce(0, +)
                #expect(Double(real) >= 0.8 * Double(longest * g.count))
                #expect(longest * g.count <= 2048)
            }
        }
    }

    @Test func minFillZeroKeepsOneForwardUpToTheBudget() {
        let groups = BatchScheduler.groups(lengths: [10, 100, 50, 20], minFill: 0, maxTokens: 400)
        #expect(groups.count == 1)
        let split = BatchScheduler.groups(lengths: [10, 100, 50, 20], minFill: 0, maxTokens: 300)
        #expect(split.map(\.count) == [3, 1])
    }
}
