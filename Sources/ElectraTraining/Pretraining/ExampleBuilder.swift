import ElectraKernels

/// One packed pretraining example: `[CLS] A [SEP] B [SEP]` (B may be empty: `[CLS] A [SEP]`).
public struct PackedExample: Equatable, Sendable {
    public var ids: [Int32]
    /// Tokens of type 0: [CLS], A and its [SEP]; the rest are type 1.
    public var firstSegmentEnd: Int

    public init(ids: [Int32], firstSegmentEnd: Int) {
        self.ids = ids
        self.firstSegmentEnd = firstSegmentEnd
    }
}

/// Packs tokenized lines into examples the way google-research/electra's
/// build_pretraining_dataset.py does:
/// - lines accumulate until their tokens reach the target length (max_seq_length, or with
///   probability 0.05 a random length in 5...max, chosen after each example);
/// - a blank line ends a document: what is pending becomes an example, so no segment ever
///   holds two documents;
/// - the lines split into A and B at a line boundary: A takes lines while it stays under
///   half the target (a line that would cross it joins A half the time while B is empty),
///   or everything with probability 0.1 (single-segment examples, as in classification);
/// - A is cut to max - 2 tokens, B to what is left after the three special tokens.
/// Lines left pending at the end of the input are dropped, as in the original.
public struct ExampleBuilder {
    public let maxLength: Int
    let cls, sep: Int32
    var rng: Xoshiro256
    var lines: [ArraySlice<Int32>] = []
    var pendingLength = 0
    var targetLength: Int
    /// Tokens cut because their example was full (a line longer than an example, or the line
    /// that crossed the target length), as the original's truncation does.
    public private(set) var droppedTokens = 0

    public init(maxLength: Int, clsId: Int, sepId: Int, seed: UInt64) {
        precondition(maxLength >= 5)
        self.maxLength = maxLength
        cls = Int32(clsId)
        sep = Int32(sepId)
        rng = Xoshiro256(seed: seed)
        targetLength = maxLength
    }

    /// Feeds one line's tokens (`blank` for an empty line, a document boundary); returns the
    /// example it completes, if any. Lines with no tokens but text (e.g. only control
    /// characters) are not document boundaries.
    public mutating func add(_ tokens: ArraySlice<Int32>, blank: Bool) -> PackedExample? {
        if blank { return pendingLength > 0 ? makeExample() : nil }
        lines.append(tokens)
        pendingLength += tokens.count
        return pendingLength >= targetLength ? makeExample() : nil
    }

    mutating func uniform() -> Double { Double(rng.next() >> 11) * 0x1p-53 }

    mutating func makeExample() -> PackedExample {
        let firstTarget = uniform() < 0.1 ? Int.max : (targetLength - 3) / 2
        var a: [Int32] = [], b: [Int32] = []
        for line in lines {
            if a.isEmpty || a.count + line.count < firstTarget
                || (b.isEmpty && a.count < firstTarget && uniform() < 0.5) {
                a += line
            } else {
                b += line
            }
        }
        let before = a.count + b.count
        a = Array(a.prefix(maxLength - 2))
        b = Array(b.prefix(max(0, maxLength - a.count - 3)))
        droppedTokens += before - a.count - b.count
        lines.removeAll(keepingCapacity: true)
        pendingLength = 0
        targetLength = uniform() < 0.05 ? 5 + Int(rng.next() % UInt64(maxLength - 4)) : maxLength
        var ids = [cls]
        ids.reserveCapacity(a.count + b.count + 3)
        ids += a
        ids.append(sep)
        let firstEnd = ids.count
        if !b.isEmpty {
            ids += b
            ids.append(sep)
        }
        return PackedExample(ids: ids, firstSegmentEnd: firstEnd)
    }

    /// The generator state, for a manifest that lets a reader check determinism.
    public var rngState: [UInt64] { rng.state }
}
