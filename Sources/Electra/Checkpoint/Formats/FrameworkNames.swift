/// HF's renaming rules from Flax and Keras parameter names to PyTorch names, so Flax and
/// TF2 checkpoints load by the same table as safetensors. Kernels are stored [in, out] and
/// transposed to PyTorch's [out, in].
public enum FrameworkNames {
    /// Flax path `electra/encoder/layer/0/attention/self/query/kernel` ->
    /// `electra.encoder.layer.0.attention.self.query.weight` (transposed).
    public static func fromFlax(_ path: String) -> RenamedTensorSource.Entry.Mapping {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var transpose = false
        switch parts.last {
        case "kernel": parts[parts.count - 1] = "weight"; transpose = true
        case "scale", "embedding": parts[parts.count - 1] = "weight"
        default: break
        }
        return .init(name: parts.joined(separator: "."), transpose: transpose)
    }

    /// Keras weight name `tf_electra_for_masked_lm/electra/encoder/layer_._0/output/dense/kernel:0`
    /// -> `electra.encoder.layer.0.output.dense.weight` (transposed), step for step as HF's
    /// `convert_tf_weight_name_to_pt_weight_name`: drop `:0`, `/x___y/` -> `/y/`, `_._` -> `/`,
    /// collapse `//`, drop the first scope (the Keras model's own name) unless it is the only
    /// one, then kernel -> weight (transposed), embeddings/gamma -> weight, beta -> bias.
    public static func fromKeras(_ name: String) -> RenamedTensorSource.Entry.Mapping? {
        var n = name.replacingOccurrences(of: ":0", with: "")
        // HF refuses these as a regex denial-of-service guard; so do we.
        let separators = n.components(separatedBy: "___").count - 1
        if (n.utf8.count > 2048 && separators > 0) || separators > 10 { return nil }
        if separators > 0 { n = replaceTripleUnderscoreScopes(n) }
        n = n.replacingOccurrences(of: "_._", with: "/")
        while n.contains("//") { n = n.replacingOccurrences(of: "//", with: "/") }
        var parts = n.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 { parts.removeFirst() }
        guard let last = parts.last, !last.isEmpty else { return nil }
        let transpose = ["kernel", "pointwise_kernel", "depthwise_kernel"].contains(last)
            || parts.contains("emb_projs") || parts.contains("out_projs")
        switch last {
        case "kernel", "embeddings", "gamma": parts[parts.count - 1] = "weight"
        case "beta": parts[parts.count - 1] = "bias"
        case "pointwise_kernel", "depthwise_kernel": parts[parts.count - 1] = last.replacingOccurrences(of: "_kernel", with: ".weight")
        default: break
        }
        return .init(name: parts.joined(separator: "."), transpose: transpose)
    }

    /// Python's `re.sub(r"/[^/]*___([^/]*)/", r"/\1/", s)`: a scope between two slashes
    /// keeps what follows its last `___`. Matches do not overlap, so after one match the
    /// next scope is only considered if another `/` starts it.
    static func replaceTripleUnderscoreScopes(_ s: String) -> String {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "/"), let close = b[(i + 1)...].firstIndex(of: UInt8(ascii: "/")) {
                let scope = b[(i + 1)..<close]
                if let sep = lastRange(of: Array("___".utf8), in: scope) {
                    out.append(UInt8(ascii: "/"))
                    out.append(contentsOf: b[sep..<close])
                    out.append(UInt8(ascii: "/"))
                    i = close + 1
                    continue
                }
            }
            out.append(b[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Index just past the last occurrence of `needle` in `hay`.
    static func lastRange(of needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var j = hay.endIndex - needle.count
        while j >= hay.startIndex {
            if hay[j..<(j + needle.count)].elementsEqual(needle) { return j + needle.count }
            j -= 1
        }
        return nil
    }

    /// Builds the HF-named view of `source` with `rename`. When two stored tensors map to one
    /// name (Keras files repeat a tied weight under every layer that uses it, with the same
    /// values) the first in name order is used.
    public static func renamed(
        _ source: any TensorSource,
        _ rename: (String) -> RenamedTensorSource.Entry.Mapping?
    ) -> RenamedTensorSource {
        var entries: [String: RenamedTensorSource.Entry] = [:]
        for stored in source.tensorNames {
            guard let m = rename(stored), entries[m.name] == nil else { continue }
            let rank2 = source.info(stored)?.shape.count == 2
            entries[m.name] = .init(stored: stored, transpose: m.transpose && rank2)
        }
        return RenamedTensorSource(source, entries: entries)
    }
}

extension RenamedTensorSource.Entry {
    /// A target name and whether the stored tensor is transposed into it.
    public struct Mapping: Sendable, Equatable {
        public let name: String
        public let transpose: Bool
        public init(name: String, transpose: Bool) {
            self.name = name
            self.transpose = transpose
        }
    }
}
