import ElectraKernels
import Foundation
import Testing

@testable import Electra

/// Dropout as torch's F.dropout in training mode: each element zeroed with probability p,
/// the rest scaled by exactly 1 / (1 - p) (fp32), at the places HF's ELECTRA applies it.
struct DropoutTests {
    @Test(arguments: [Float(0.1), 0.3, 0.5])
    func maskHasTheRateAndTheScale(_ p: Float) {
        let n = 1 << 20
        let mask = Tensor(zeros: [n])
        DropoutContext(seed: 3).fillMask(mask.pointer, count: n, p: p)
        let values = mask.scalars
        let dropped = Double(values.filter { $0 == 0 }.count) / Double(n)
        // Binomial standard deviation sqrt(p(1-p)/n) <= 5e-4: six of them.
        #expect(abs(dropped - Double(p)) < 3e-3, "p \(p): dropped \(dropped)")
        let keep: Float = 1 / (1 - p)  // torch: input * (1 / (1 - p)) in fp32
        #expect(values.allSatisfy { $0 == 0 || $0 == keep })
    }

    /// Every dropout site of a sequence classifier: with all probabilities 0 a training
    /// forward equals inference exactly; turning on any one of hidden_dropout_prob,
    /// attention_probs_dropout_prob or classifier_dropout changes it.
    @Test func eachConfiguredSiteIsApplied() throws {
        func loss(hidden: Float, attention: Float, classifier: Float) throws -> (training: Float, inference: Float) {
            var c = ElectraConfig()
            c.vocabSize = 20; c.embeddingSize = 8; c.hiddenSize = 8; c.numHiddenLayers = 1; c.numAttentionHeads = 2
            c.intermediateSize = 12; c.maxPositionEmbeddings = 8; c.setNumLabels(2)
            c.hiddenDropoutProb = hidden; c.attentionProbsDropoutProb = attention; c.classifierDropout = classifier
            let model = try ElectraForSequenceClassification(config: c, seed: 4)
            var inputs = ElectraInputs(ids: [[1, 4, 7, 9, 2], [3, 5, 8, 6, 2]])
            inputs.labels = IntTensor(shape: [2], values: [1, 0])
            model.parameters.zeroGradients()
            return (try model.forwardBackward(inputs, dropout: DropoutContext(seed: 8)).loss!, try model(inputs).loss!)
        }
        let off = try loss(hidden: 0, attention: 0, classifier: 0)
        #expect(off.training == off.inference)
        for (h, a, k) in [(Float(0.3), Float(0), Float(0)), (0, 0.3, 0), (0, 0, 0.3)] {
            let on = try loss(hidden: h, attention: a, classifier: k)
            #expect(on.training != on.inference, "hidden \(h) attention \(a) classifier \(k) changed nothing")
        }
    }
}
