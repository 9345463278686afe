// Finds added tokens (e.g. a literal "[MASK]") in text, with HF's leftmost-longest matching
// and its single_word / lstrip / rstrip rules (AddedVocabulary::find_matches).

struct AddedTokenMatcher: Sendable {
    struct Pattern: Sendable {
        var bytes: [UInt8]
        var token: AddedToken
    }
    /// Patterns bucketed by first byte, longest first.
    private var buckets: [[Pattern]] = Array(repeating: [], count: 256)
    private(set) var isEmpty = true

    init(_ patterns: [Pattern]) {
        for p in patterns where !p.bytes.isEmpty {
            buckets[Int(p.bytes[0])].append(p)
            isEmpty = false
        }
        for i in 0..<256 { buckets[i].sort { $0.bytes.count > $1.bytes.count } }
    }

    struct Match {
        var start: Int
        var stop: Int
        var id: Int
    }

    /// Matches in `p[0..<n]`, non-overlapping, left to right, spans adjusted for strip rules.
    func findMatches(_ p: UnsafePointer<UInt8>, _ n: Int, classes: CharacterClasses) -> [Match] {
        var out: [Match] = []
        var i = 0
        var startOffset = 0
        while i < n {
            let bucket = buckets[Int(p[i])]
            var found: Pattern? = nil
            if !bucket.isEmpty {
                for pat in bucket where pat.bytes.count <= n - i {
                    var ok = true
                    for k in 1..<pat.bytes.count where p[i + k] != pat.bytes[k] {
                        ok = false
                        break
                    }
                    if ok {
                        found = pat
                        break
                    }
                }
            }
            guard let pat = found else {
                i += 1
                continue
            }
            var start = i
            var stop = i + pat.bytes.count
            i = stop  // the automaton resumes after the match even when the match is discarded
            let tok = pat.token
            if tok.singleWord {
                let startSpace = start == 0 || !Self.isWordChar(before: start, p, classes)
                let stopSpace = stop == n || !Self.isWordChar(at: stop, p, classes)
                if !startSpace || !stopSpace { continue }
            }
            if tok.lstrip {
                var s = start
                while s > 0 {
                    let prev = Self.scalarStart(before: s, p)
                    let (u, _) = decodeScalar(p, prev)
                    if !classes.flags(u).contains(.whitespace) { break }
                    s = prev
                }
                start = max(s, startOffset)
            }
            if tok.rstrip {
                while stop < n {
                    let (u, len) = decodeScalar(p, stop)
                    if !classes.flags(u).contains(.whitespace) { break }
                    stop += len
                }
            }
            out.append(Match(start: start, stop: stop, id: tok.id))
            startOffset = stop
        }
        return out
    }

    @inline(__always)
    static func scalarStart(before i: Int, _ p: UnsafePointer<UInt8>) -> Int {
        var j = i - 1
        while j > 0 && p[j] & 0xC0 == 0x80 { j -= 1 }
        return j
    }

    static func isWordChar(before i: Int, _ p: UnsafePointer<UInt8>, _ classes: CharacterClasses) -> Bool {
        let (u, _) = decodeScalar(p, scalarStart(before: i, p))
        return classes.flags(u).contains(.regexWord)
    }

    static func isWordChar(at i: Int, _ p: UnsafePointer<UInt8>, _ classes: CharacterClasses) -> Bool {
        let (u, _) = decodeScalar(p, i)
        return classes.flags(u).contains(.regexWord)
    }
}
