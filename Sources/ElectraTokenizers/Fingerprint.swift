/// A stable hash of what decides a tokenizer's ids: the vocabulary and added tokens in id
/// order, the normalizer and pre-tokenizer settings, the word length limit. Pretraining data
/// records it, so data made with one tokenizer is never trained with another.
extension ElectraTokenizer {
    public var fingerprint: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64-bit
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        for s in core.tokenStrings.strings { mix(s.utf8); mix([0]) }
        mix(String(describing: normalizer).utf8)
        mix(String(describing: preTokenizer).utf8)
        mix(String(maxInputCharsPerWord).utf8)
        return "fnv1a64:" + String(h, radix: 16)
    }
}
