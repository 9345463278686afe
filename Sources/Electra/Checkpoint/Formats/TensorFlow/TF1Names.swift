/// Which tower of a Google Research ELECTRA checkpoint to export: both live in one file.
public enum ElectraTower: String, Sendable, CaseIterable {
    case discriminator, generator

    /// The tower a config's `architectures[0]` asks for: the generator for ElectraForMaskedLM,
    /// the discriminator otherwise.
    public init(architecture: String?) {
        self = architecture == ElectraForMaskedLM.architecture ? .generator : .discriminator
    }

    /// The HF class the tower becomes.
    public var modelType: any ElectraHeadModel.Type {
        self == .generator ? ElectraForMaskedLM.self : ElectraForPreTraining.self
    }
    public var architecture: String { modelType.architecture }
}

/// Google Research's TF1 variable names -> HF names, with HF's converter's rules
/// (`load_tf_weights_in_electra`): the generator is read from `generator/` with the shared
/// embeddings from `electra/embeddings`, `dense_1` -> `dense_prediction`,
/// `generator_predictions/output_bias` -> `generator_lm_head.bias`, kernel/gamma -> weight,
/// beta -> bias, `*_embeddings` -> `.weight`, kernels transposed. HF renames kernel/gamma/beta
/// at any depth; here only as the last component, which gives the same names for every
/// ELECTRA variable and cannot turn a scope that happens to be called "beta" into "bias".
public enum TF1Names {
    /// Why a variable is not part of the exported tower.
    public enum Skip: Sendable, Equatable {
        /// `adam_m` / `adam_v` slots of the optimizer.
        case optimizerSlot
        /// `global_step`, `temperature`: training bookkeeping.
        case bookkeeping
        /// A variable of the tower not being exported.
        case otherTower
    }

    public enum Result: Sendable, Equatable {
        case weight(RenamedTensorSource.Entry.Mapping)
        case skipped(Skip)
    }

    public static func map(_ tfName: String, tower: ElectraTower) -> Result {
        var parts = tfName.split(separator: "/").map(String.init)
        guard !parts.isEmpty else { return .weight(.init(name: tfName, transpose: false)) }
        if let last = parts.last, last == "adam_m" || last == "adam_v" { return .skipped(.optimizerSlot) }
        if parts.contains(where: { $0 == "global_step" || $0 == "temperature" }) { return .skipped(.bookkeeping) }
        // Scope renames on whole path components (HF does substring replaces; components
        // give the same result on every ELECTRA name and cannot touch e.g. "my_electra").
        if tower == .generator, parts.count > 1 {
            if parts[0] == "electra" {
                // Shared embeddings live under the discriminator's scope; everything else of
                // the discriminator is not part of the generator.
                parts[0] = parts[1] == "embeddings" ? "electra" : "discriminator"
            } else if parts[0] == "generator" {
                parts[0] = "electra"
            }
        }
        let otherTower = tower == .generator
            ? ["discriminator", "discriminator_predictions"] : ["generator", "generator_predictions"]
        if otherTower.contains(parts[0]) { return .skipped(.otherTower) }
        if parts == ["generator_predictions", "output_bias"] {
            return .weight(.init(name: "generator_lm_head.bias", transpose: false))
        }
        var out: [String] = []
        for (i, p) in parts.enumerated() {
            let isLast = i == parts.count - 1
            if p == "dense_1" { out.append("dense_prediction"); continue }
            if let (scope, index) = splitIndexed(p) { out.append(scope); out.append(index); continue }
            switch p {
            case "kernel" where isLast, "gamma" where isLast, "output_weights" where isLast: out.append("weight")
            case "beta" where isLast, "output_bias" where isLast: out.append("bias")
            case "squad": out.append("classifier")
            default: out.append(p)
            }
        }
        if let last = parts.last, last.hasSuffix("_embeddings") { out.append("weight") }
        return .weight(.init(name: out.joined(separator: "."), transpose: parts.last == "kernel"))
    }

    /// "layer_11" -> ("layer", "11"), as HF's `[A-Za-z]+_\d+` rule.
    static func splitIndexed(_ p: String) -> (String, String)? {
        guard let us = p.lastIndex(of: "_") else { return nil }
        let head = p[..<us], tail = p[p.index(after: us)...]
        guard !head.isEmpty, !tail.isEmpty, head.allSatisfy({ $0.isASCII && $0.isLetter }),
              tail.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return (String(head), String(tail))
    }
}
