import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// The inference weight layout (InferenceLayout.swift): copies ([in, out], or 16-output panels
/// on AVX-512 CPUs) that follow the HF-named parameters they were made from.
struct InferenceLayoutTests {
    let base = Fixtures.models.appendingPathComponent("base_gelu_e16_h32/model")
    let inputs = ElectraInputs(ids: [[1, 5, 9, 2], [3, 4, 7, 8]])

    func hidden(_ m: ElectraModel) throws -> [Float] { try m(inputs).lastHiddenState!.scalars }

    @Test func copiesTheEncoderWeightsOnceAndFreesThemWhenOff() throws {
        let (m, _) = try ElectraModel.load(from: base)
        let c = m.config
        let plain = try hidden(m)
        #expect(m.backbone.inferenceWeightLayoutBytes == 0)
        m.setInferenceWeightLayout(true)
        #expect(m.backbone.inferenceWeightLayoutBytes == 0, "built by the first forward, not before")
        let fast = try hidden(m)
        // Q|K|V, attention output, intermediate, output per layer, and embeddings_project (E != H);
        // on AVX-512 CPUs packed in panels of 16 outputs (PanelGemm), else [in, out].
        let H = c.hiddenSize, I = c.intermediateSize, E = c.embeddingSize
        func copy(_ n: Int, _ k: Int) -> Int { PanelGemm.enabled ? PanelGemm.count(rows: n, columns: k) : n * k }
        let floats = c.numHiddenLayers * (copy(3 * H, H) + copy(H, H) + copy(I, H) + copy(H, I)) + (E != H ? copy(H, E) : 0)
        #expect(m.backbone.inferenceWeightLayoutBytes == 4 * floats)
        #expect(zip(plain, fast).allSatisfy { abs($0 - $1) <= 1e-5 })
        _ = try hidden(m)
        #expect(m.backbone.inferenceWeightLayoutBytes == 4 * floats, "reused, not rebuilt")
        m.setInferenceWeightLayout(false)
        #expect(m.backbone.inferenceWeightLayoutBytes == 0)
    }

    /// A change made through a name, announced with markChanged(), reaches the next forward:
    /// for a plain Linear and for a part (value) of the fused Q|K|V block. Without the call
    /// the copy is what runs, which is why library code that writes weights makes it.
    @Test func followsChangesAnnouncedThroughTheParameters() throws {
        let (m, _) = try ElectraModel.load(from: base)
        let (reference, _) = try ElectraModel.load(from: base)
        m.setInferenceWeightLayout(true)
        _ = try hidden(m)
        for pick in [{ (l: EncoderLayer) in l.intermediate.weight }, { (l: EncoderLayer) in l.value.weight }] {
            let p = pick(m.backbone.layers[0]), q = pick(reference.backbone.layers[0])
            p.pointer[3] += 0.25
            q.pointer[3] += 0.25
            let stale = try hidden(m)
            p.markChanged()
            let fresh = try hidden(m)
            let want = try hidden(reference)
            #expect(stale != want)
            #expect(zip(fresh, want).allSatisfy { abs($0 - $1) <= 1e-5 })
        }
    }

    @Test func replacingAParameterTensorCountsAsAChange() throws {
        let p = Parameter(Tensor(zeros: [2, 2]), role: .linearWeight)
        let v = p.version
        p.value = Tensor(zeros: [2, 2])
        #expect(p.version == v + 1)
        p.markChanged()
        #expect(p.version == v + 2)
    }
}
