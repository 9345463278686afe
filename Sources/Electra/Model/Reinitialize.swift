import ElectraKernels
import Foundation

extension ElectraHeadModel {
    /// Draws the top `count` encoder layers afresh, as HF's `_init_weights` would (linear
    /// weights normal(0, initializer_range), biases 0, LayerNorm 1 and 0), and returns the
    /// names it touched. Fine-tuning from a pretrained model whose last layers are specialised
    /// to the pretraining task often does better with them re-drawn ("re-init", Zhang et al.
    /// 2021, Revisiting Few-sample BERT Fine-tuning); `count` 0 changes nothing.
    @discardableResult
    public func reinitializeTopLayers(_ count: Int, seed: UInt64) throws -> [String] {
        let layers = config.numHiddenLayers
        guard count >= 0 && count <= layers else {
            throw ElectraError("cannot re-initialise \(count) layers: the model has \(layers) encoder layers (0...\(layers))")
        }
        guard count > 0 else { return [] }
        let chosen = Set((layers - count)..<layers)
        var rng = Xoshiro256(seed: seed)
        var touched: [String] = []
        for (name, p) in parameters.uniqueParameters {
            guard let layer = Self.encoderLayerIndex(name), chosen.contains(layer) else { continue }
            p.role.initialize(p.value, std: config.initializerRange, rng: &rng)
            p.markChanged()
            touched.append(name)
        }
        return touched
    }

    /// N in "…encoder.layer.N.…" (the base model's names start at "encoder", the heads' at "electra.encoder").
    static func encoderLayerIndex(_ name: String) -> Int? {
        let parts = name.split(separator: ".")
        guard let i = parts.firstIndex(of: "layer"), i > 0, parts[i - 1] == "encoder", i + 1 < parts.count else { return nil }
        return Int(parts[i + 1])
    }
}
