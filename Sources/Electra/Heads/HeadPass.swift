import ElectraKernels

/// A head that can compute its loss and the gradients of every parameter.
/// `forwardBackward` runs the training forward pass (with dropout when a context is given),
/// the loss, and the backward pass; parameter gradients are accumulated (+=) into
/// `Parameter.grad`, so gradient accumulation is calling it again before the optimizer step.
public protocol ElectraTrainable: ElectraHeadModel {
    /// `dropout` nil: every dropout off (deterministic; what the gradient tests use).
    func forwardBackward(_ inputs: ElectraInputs, dropout: DropoutContext?) throws -> ElectraOutput
}

extension ElectraTrainable {
    public func forwardBackward(_ inputs: ElectraInputs) throws -> ElectraOutput {
        try forwardBackward(inputs, dropout: nil)
    }
}

/// Marks a head pass as training: head dropout draws from `dropout` (nil: dropout off) and
/// `headForward` returns the activations `headBackward` needs.
struct HeadTraining {
    let dropout: DropoutContext?
    /// Multiplies d loss / d logits (a weighted term of a larger loss: RTD's 50 x BCE).
    var lossScale: Float = 1
}

/// What a head computes from the backbone's last hidden state. Each head writes this pair
/// once (as llm.c's layers do); `inferencePass` and `trainingPass` run every head through
/// the same code, so inference and training cannot drift apart.
protocol HeadPass: ElectraHeadModel {
    /// What `headBackward` needs from `headForward` (activations, dropout masks, d loss / d logits).
    associatedtype Activations
    /// input_ids are [B, C, L] choices, run as B*C sequences (multiple choice).
    static var flattensChoices: Bool { get }
    /// Names the labels training needs, for the error when they are missing.
    static var trainingLabels: String { get }
    /// Whether `inputs` carries the labels the loss needs.
    func hasLabels(_ inputs: ElectraInputs) -> Bool
    /// h: [N, H] last hidden state -> logits (and the loss when labels are given; the labels
    /// are validated here). With `training`, head dropout applies and the activations
    /// (including d loss / d logits) are returned.
    func headForward(_ h: Tensor, _ batch: TokenBatch, _ inputs: ElectraInputs, training: HeadTraining?)
        throws -> (ElectraOutput, Activations?)
    /// dH: [N, H] (zeroed) receives d loss / d h; head parameter gradients are accumulated.
    func headBackward(_ a: Activations, h: Tensor, dH: Tensor, _ batch: TokenBatch)
}

extension HeadPass {
    func hasLabels(_ inputs: ElectraInputs) -> Bool { inputs.labels != nil || inputs.floatLabels != nil }

    /// The HF forward: backbone, then the head, with dropout off.
    func inferencePass(_ inputs: ElectraInputs, options: ForwardOptions) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: Self.flattensChoices)
        return try backbone.forward(batch, options: options) { h, extras in
            var (out, _) = try headForward(h, batch, inputs, training: nil)
            out.attach(extras, options)
            return out
        }
    }

    /// The same forward keeping the tape, then the loss's backward through head and backbone.
    func trainingPass(_ inputs: ElectraInputs, dropout: DropoutContext?, lossScale: Float = 1) throws -> ElectraOutput {
        let batch = try TokenBatch(inputs, config: config, flattenChoices: Self.flattensChoices)
        guard hasLabels(inputs) else { throw ElectraError("training \(Self.architecture) needs \(Self.trainingLabels)") }
        try batch.requireUnpacked()
        guard backbone.inferenceDType != .int8 else {
            throw ElectraError("this model runs its products in int8 for inference; training needs fp32 or bf16 (setInferenceDType(.fp32))")
        }
        let tape = backbone.trainingForward(batch, dropout: dropout)
        let h = tape.output
        let (out, acts) = try headForward(h, batch, inputs, training: HeadTraining(dropout: dropout, lossScale: lossScale))
        let dH = tape.dSequence
        dH.pointer.initialize(repeating: 0, count: dH.count)
        headBackward(acts!, h: h, dH: dH, batch)
        backbone.backward(tape)
        return out
    }
}

/// Head-level dropout: returns x * mask (a copy) and the mask, or x itself when off.
func headDropout(_ x: Tensor, p: Float, _ training: HeadTraining?) -> (Tensor, Tensor?) {
    guard let ctx = training?.dropout, p > 0 else { return (x, nil) }
    let mask = Tensor(zeros: x.shape)
    ctx.fillMask(mask.pointer, count: x.count, p: p)
    let y = x.copy()
    multiplyInPlace(y.pointer, mask.pointer, count: x.count)
    return (y, mask)
}

/// act(pre) [rows, columns]: in place when the pre-activation need not be kept (inference),
/// else into a new tensor.
func activated(_ act: Activation, _ pre: Tensor, keep: Bool) -> Tensor {
    let out = keep ? pre.copy() : pre
    act.forward(out.pointer, rows: pre.shape[0], columns: pre.shape[1])
    return out
}

/// The loss gradient buffer a training pass needs, or nil in inference.
func lossGradient(_ shape: [Int], _ training: HeadTraining?) -> Tensor? {
    training == nil ? nil : Tensor(zeros: shape)
}
