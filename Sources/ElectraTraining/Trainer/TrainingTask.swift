import Electra
import Foundation

/// One model a task trains, and where it is saved: `folder` is its sub-folder of every
/// checkpoint and of the output ("" = the folder itself, as a fine-tuned classifier is).
/// Two models may share `Parameter` objects (a generator and a discriminator sharing their
/// embeddings): the trainer optimises and saves the optimizer state of each object once.
public struct TrainedModel {
    public let folder: String
    public let model: any ElectraHeadModel
    /// Files copied into the model's folder whenever it is saved (the tokenizer files).
    public let extraFiles: [URL]
    /// The config written with the weights, when it differs from the one trained with (a
    /// pretraining recipe without dropout saves the dropout fine-tuning expects).
    public let savedConfig: ElectraConfig?

    public init(folder: String, model: any ElectraHeadModel, extraFiles: [URL] = [], savedConfig: ElectraConfig? = nil) {
        self.folder = folder
        self.model = model
        self.extraFiles = extraFiles
        self.savedConfig = savedConfig
    }
}

/// What one training micro-batch reports.
public struct StepResult: Sendable {
    /// The loss the gradients are of (mean over the micro-batch).
    public var loss: Double
    /// Tokens processed (for tokens/s).
    public var tokens: Int
    /// Further named values to average over the logging window (accuracies, other losses).
    public var metrics: [String: Double]

    public init(loss: Double, tokens: Int, metrics: [String: Double] = [:]) {
        self.loss = loss
        self.tokens = tokens
        self.metrics = metrics
    }
}

/// An objective on the shared trainer. The task owns its data, its forward + backward and
/// its evaluation; the `Trainer` owns everything around them (optimizer, schedule,
/// accumulation, clipping, dropout, logging, plots, checkpoints, resume).
public protocol TrainingTask: AnyObject {
    /// The models trained, in saving order.
    var models: [TrainedModel] { get }
    /// Training examples in one epoch; the trainer orders indices 0..<exampleCount.
    var exampleCount: Int { get }
    /// Forward and backward of the examples at `indices` (gradients accumulate, +=).
    func trainingStep(_ indices: ArraySlice<Int>, dropout: DropoutContext) throws -> StepResult
    /// Validation metrics (higher or lower is better per metric), or nil without validation data.
    func evaluate() throws -> [String: Double]?
    /// Validation metrics drawn in the plot's validation panel (the first is the losses).
    var plottedMetrics: [String] { get }
    /// Panels of training metrics (`StepResult.metrics` keys, window means) drawn after the loss.
    var trainingPanels: [(title: String, metrics: [String])] { get }
    /// Facts about the data a resumed run must share with the run it continues (file names
    /// and sizes, label sets); compared key by key on `--resume`.
    var runFingerprint: [String: String] { get }
    /// The task's own generator states (a masking or sampling RNG), saved in every
    /// checkpoint's trainer_state.json under "task" and handed back on resume, so a resumed
    /// run draws what the uninterrupted one would have.
    func checkpointState() -> [String: JSONValue]
    func restoreCheckpointState(_ state: [String: JSONValue]) throws
    /// Called after every optimizer step with its metrics (means over the micro-batches):
    /// a warning for the person running the job when the run looks unhealthy, else nil.
    func warning(after metrics: [String: Double]) -> String?
    /// Called before the micro-batches of optimizer step `step` (0-based): a task whose
    /// batches follow a schedule (sequence length warmup) reads the step here.
    func willStartStep(_ step: Int)
    /// Called before each micro-batch with its index within the optimizer step, counted over
    /// the whole data-parallel job (rank r's first is r x accumulation): a task that draws at
    /// random (masking, sampling) seeds its draws from (step, index), never from a rank.
    func willStartMicroBatch(_ index: Int)
    /// Called with the run's length in optimizer steps once it is known (at the start, or
    /// after the first steps of a run sized by time), and again on resume.
    func didSizeRun(totalSteps: Int)
    /// What optimizer step `step` costs relative to a full step (1), for sizing a run by time
    /// when early steps are cheaper (a generator that trains alone at first).
    func relativeStepCost(atStep step: Int) -> Double
    /// Learning-rate factors by parameter object for optimizer step `step` (absent: 1).
    func learningRateScales(atStep step: Int) -> [ObjectIdentifier: Float]
    /// Horizontal reference lines in the plot, by the training metric whose panel they go in
    /// (a baseline the curve must leave: a masked LM's unigram entropy).
    var referenceLines: [ReferenceLine] { get }
    /// Written once at the start of metrics.jsonl as a "reference" record (the baselines).
    var referenceRecord: [String: Double]? { get }
}

extension TrainingTask {
    public func warning(after metrics: [String: Double]) -> String? { nil }
    public var referenceLines: [ReferenceLine] { [] }
    public func willStartStep(_ step: Int) {}
    public func willStartMicroBatch(_ index: Int) {}
    public func didSizeRun(totalSteps: Int) {}
    public func relativeStepCost(atStep step: Int) -> Double { 1 }
    public func learningRateScales(atStep step: Int) -> [ObjectIdentifier: Float] { [:] }
    public var referenceRecord: [String: Double]? { nil }
    public var runFingerprint: [String: String] { [:] }
    public var trainingPanels: [(title: String, metrics: [String])] { [] }
    public func checkpointState() -> [String: JSONValue] { [:] }
    public func restoreCheckpointState(_ state: [String: JSONValue]) throws {}
}

/// A horizontal line in the plot panel of `metric`: a baseline its curve must leave.
public struct ReferenceLine: Sendable {
    public var metric: String
    public var label: String
    public var value: Double
    /// A baseline of the held-out curve (drawn in its colour) rather than the training one.
    public var heldOut: Bool

    public init(metric: String, label: String, value: Double, heldOut: Bool = false) {
        self.metric = metric
        self.label = label
        self.value = value
        self.heldOut = heldOut
    }
}
