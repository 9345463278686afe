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
    /// -> `electra.encoder.layer.0.output.dense.weight` (transposed): the first scope is the
    /// Keras model's own name and is dropped, `_._` separates list indices.
    public static func fromKeras(_ name: String) -> RenamedTensorSource.Entry.Mapping? {
        var n = name
        if n.hasSuffix(":0") { n.removeLast(2) }
        n = n.replacingOccurrences(of: "_._", with: "/")
        var parts = n.split(separator: "/").map(String.init)
        // Scopes written as "outer___inner" keep only the inner name (HF's rule).
        parts = parts.map { p in p.range(of: "___").map { String(p[$0.upperBound...]) } ?? p }
        guard parts.count >= 2 else { return nil }
        parts.removeFirst()
        var transpose = false
        switch parts.last {
        case "kernel": parts[parts.count - 1] = "weight"; transpose = true
        case "gamma", "embeddings": parts[parts.count - 1] = "weight"
        case "beta": parts[parts.count - 1] = "bias"
        default: break
        }
        return .init(name: parts.joined(separator: "."), transpose: transpose)
    }

    /// Builds the HF-named view of `source` with `rename`; the first stored tensor wins when
    /// two map to one name (Keras files repeat tied weights under every layer using them).
    public static func renamed(
        _ source: any TensorSource, formatName: String? = nil,
        _ rename: (String) -> RenamedTensorSource.Entry.Mapping?
    ) -> RenamedTensorSource {
        var entries: [String: RenamedTensorSource.Entry] = [:]
        for stored in source.tensorNames {
            guard let m = rename(stored), entries[m.name] == nil else { continue }
            let rank2 = source.info(stored)?.shape.count == 2
            entries[m.name] = .init(stored: stored, transpose: m.transpose && rank2)
        }
        return RenamedTensorSource(source, entries: entries, formatName: formatName)
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
