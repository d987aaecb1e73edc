"""The pickle allowlist: exact (module, qualified name) pairs that benign model files import.

Curated by hand from the report of ``fixtures/allowlist_corpus.py``, which builds real pickles
with torch, numpy, scikit-learn, pandas, scipy, xgboost, lightgbm, transformers and the standard
library (current releases, plus numpy 1.26 / pandas 2.2 / scikit-learn 1.5 through its
``--legacy-path``, and Python 2.7 / 3.10-3.13 for plain data) and lists every global they
reference without loading them. Nothing here is generated at run time: a name is on the list
because a real benign pickle uses it AND its use with attacker-chosen arguments cannot run
code, import by name, or touch files or the network.

Names are the ones the pickle loader fetches after ``fix_imports`` (Python 2 spellings such as
``__builtin__`` or ``copy_reg`` are remapped by the engine before matching). Matching is exact:
no prefixes, no wildcards, and a dotted *name* (``"Foo.bar"``) matches only itself.

Some names benign pickles do use are deliberately NOT here (see ``SPECIAL`` and
``CONSTRUCT_ONLY``): the engine decides about them from how they are used.
"""

from __future__ import annotations

from collections.abc import Mapping

Names = Mapping[str, frozenset[str]]


def _merge(*groups: Names) -> dict[str, frozenset[str]]:
    merged: dict[str, frozenset[str]] = {}
    for group in groups:
        for module, names in group.items():
            merged[module] = merged.get(module, frozenset()) | names
    return merged


def _with_numpy1_spelling(group: Names) -> dict[str, frozenset[str]]:
    """numpy 2 moved ``numpy.core`` to ``numpy._core``: pickles written by numpy 1.x name
    ``numpy.core.X`` for what numpy 2 writes as ``numpy._core.X`` (and numpy 2 still loads
    both). Every entry under one spelling is allowed under the other."""
    out = dict(group)
    for module, names in group.items():
        for new, old in (("numpy._core", "numpy.core"), ("numpy.core", "numpy._core")):
            if module == new or module.startswith(new + "."):
                twin = old + module[len(new) :]
                out[twin] = out.get(twin, frozenset()) | names
    return out


# --- Python standard library ---------------------------------------------------------------
# From pickles of plain data at protocols 0-5 (containers, datetime, decimal, fractions, uuid,
# pathlib) written by Python 2.7 (names after fix_imports) and 3.10-3.13 (3.13 moved the
# pathlib classes to pathlib._local), and from every ecosystem below. Only referenced, never
# called: Ellipsis, NotImplemented, and the types used as values (int, float, str, ... as
# ``dtype=int``). Called by REDUCE: bytearray, bytes (empty bytes at protocols 0-2), complex,
# frozenset, range, set, slice, the collections types, datetime.*, Decimal, Fraction, the
# pathlib classes. uuid.UUID is only constructed (NEWOBJ or copyreg._reconstructor).
# _codecs.encode is how protocols 0-2 write ``bytes`` (``_codecs.encode(text, "latin1")``):
# codec lookup is confined to the ``encodings`` package and every codec there is a pure
# transform. copyreg._reconstructor is how protocols 0-1 write
# any object (it constructs argument 0 and calls argument 1's __init__: see CALLS_ARGUMENTS).
STDLIB: dict[str, frozenset[str]] = {
    "_codecs": frozenset({"encode"}),
    "builtins": frozenset(
        {
            "Ellipsis",
            "NotImplemented",
            "bool",
            "bytearray",
            "bytes",
            "complex",
            "dict",
            "float",
            "frozenset",
            # gensim's Word2Vec/Doc2Vec/FastText keep hashfxn=hash. hash(x) only runs
            # type(x).__hash__, which SETITEM/ADDITEMS already run on every dict/set key.
            "hash",
            "int",
            "list",
            "object",
            "range",
            "set",
            "slice",
            "str",
            "tuple",
        }
    ),
    "collections": frozenset({"Counter", "OrderedDict", "defaultdict", "deque"}),
    "copyreg": frozenset({"_reconstructor"}),
    "datetime": frozenset({"date", "datetime", "time", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "fractions": frozenset({"Fraction"}),
    # Constructing a path object never touches the filesystem.
    "pathlib": frozenset({"PosixPath", "PurePosixPath", "PureWindowsPath"}),
    "pathlib._local": frozenset({"PosixPath", "PurePosixPath", "PureWindowsPath"}),  # 3.13+
    "uuid": frozenset({"UUID"}),
}

# --- NumPy -----------------------------------------------------------------------------------
# From pickle.dumps (protocols 0-5) and joblib.dump of arrays of every dtype (structured,
# datetime, object, StringDType), scalars, dtypes, scalar types as values, masked arrays,
# matrix, recarray, legacy RandomState, Generator and every bit generator, SeedSequence, on
# numpy 2.4 and numpy 1.26. Ufuncs and functions appear as values (FunctionTransformer(func=),
# FeatureAgglomeration(pooling_func=)); numpy 1.x writes ufuncs as
# ``numpy.core._multiarray_umath.<name>``, numpy 2 as ``numpy.<name>``.
# The numpy 1 spelling of every ``numpy._core`` module is added by _with_numpy1_spelling.
NUMPY: dict[str, frozenset[str]] = _with_numpy1_spelling(
    {
        "numpy": frozenset(
            {
                # arrays, dtypes
                "dtype",
                "matrix",
                "ndarray",
                "recarray",
                "record",
                # scalar types (numpy 2 writes numpy.bool, numpy 1 numpy.bool_)
                "bool",
                "bool_",
                "bytes_",
                "clongdouble",
                "complex128",
                "complex64",
                "datetime64",
                "float16",
                "float32",
                "float64",
                "int16",
                "int32",
                "int64",
                "int8",
                "longdouble",
                "longlong",
                "object_",
                "str_",
                "timedelta64",
                "uint16",
                "uint32",
                "uint64",
                "uint8",
                "ulonglong",
                "void",
                # pure ufuncs and reductions seen as estimator parameters
                "absolute",
                "exp",
                "expm1",
                "log",
                "log1p",
                "max",
                "mean",
                "median",
                "sqrt",
                "square",
            }
        ),
        "numpy._core._internal": frozenset({"_convert_to_stringdtype_kwargs"}),
        # numpy.core._internal._reconstruct is the name pickles of NumPy < 1.0 embed; numpy 2
        # keeps it: ndarray.__new__(subtype, shape, dtype).
        "numpy.core._internal": frozenset({"_reconstruct"}),
        # numpy 1.x pickles name matrix at its defining module.
        "numpy.matrixlib.defmatrix": frozenset({"matrix"}),
        "numpy._core._multiarray_umath": frozenset(
            {"absolute", "exp", "expm1", "log", "log1p", "sqrt", "square"}
        ),
        "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
        "numpy._core.numeric": frozenset({"_frombuffer"}),
        "numpy.ma": frozenset({"MaskedArray"}),
        "numpy.ma.core": frozenset({"MaskedArray", "MaskedConstant", "_mareconstruct"}),
        "numpy.rec": frozenset({"recarray"}),
        # numpy < 1.17 pickled RandomState as __RandomState_ctor() + state (gensim and
        # scikit-learn models of that era); it takes no argument: RandomState(seed=0).
        "numpy.random": frozenset({"__RandomState_ctor"}),
        "numpy.random._mt19937": frozenset({"MT19937"}),
        "numpy.random._pcg64": frozenset({"PCG64", "PCG64DXSM"}),
        "numpy.random._philox": frozenset({"Philox"}),
        "numpy.random._pickle": frozenset({"__bit_generator_ctor", "__generator_ctor", "__randomstate_ctor"}),
        "numpy.random._sfc64": frozenset({"SFC64"}),
        "numpy.random.bit_generator": frozenset({"SeedSequence", "__pyx_unpickle_SeedSequence"}),
    }
)

# --- joblib ------------------------------------------------------------------------------------
# joblib.dump (joblib 1.4 and 1.6) writes every ndarray as this wrapper, followed in the stream
# by the raw array bytes (or by a nested pickle for object arrays). NOT the pre-0.10
# NDArrayWrapper / ZNDArrayWrapper: those read a sibling file named inside the pickle.
JOBLIB: dict[str, frozenset[str]] = {
    "joblib.numpy_pickle": frozenset({"NumpyArrayWrapper"}),
    # The copy of joblib that scikit-learn < 0.23 bundled (sklearn.externals.joblib.dump).
    "sklearn.externals.joblib.numpy_pickle": frozenset({"NumpyArrayWrapper"}),
}

# --- PyTorch: tensors, storages, dtypes ------------------------------------------------------
# From torch.save (zip and _use_new_zipfile_serialization=False) of state dicts of common
# layers, tensors of every dtype, quantized (per tensor / per channel, every qdtype), sparse
# COO/CSR/CSC/BSR/BSC, nested and meta tensors, Parameters (with extra attributes),
# nn.Buffer, MaskedTensor, LazyLinear's UninitializedParameter, optimizer and LR scheduler
# state dicts, GradScaler, torch.Size / torch.device / torch.dtype values, torch.max's
# return type; and pickle.dumps(tensor), whose torch.storage._load_from_bytes is in SPECIAL.
# The storage classes and dtypes are only referenced (persistent ids, dtype values).
TORCH: dict[str, frozenset[str]] = {
    "torch": frozenset(
        {
            # storage types named in persistent ids
            "BFloat16Storage",
            "BoolStorage",
            "ByteStorage",
            "CharStorage",
            "ComplexDoubleStorage",
            "ComplexFloatStorage",
            "DoubleStorage",
            "FloatStorage",
            "HalfStorage",
            "IntStorage",
            "LongStorage",
            "QInt32Storage",
            "QInt8Storage",
            "QUInt2x4Storage",
            "QUInt4x2Storage",
            "QUInt8Storage",
            "ShortStorage",
            # values
            "Size",
            "Tensor",
            "device",
            # dtypes
            "bfloat16",
            "bits16",
            "bits1x8",
            "bits2x4",
            "bits4x2",
            "bits8",
            "bool",
            "complex128",
            "complex32",
            "complex64",
            "float16",
            "float32",
            "float4_e2m1fn_x2",
            "float64",
            "float8_e4m3fn",
            "float8_e4m3fnuz",
            "float8_e5m2",
            "float8_e5m2fnuz",
            "float8_e8m0fnu",
            "int16",
            "int32",
            "int64",
            "int8",
            "qint32",
            "qint8",
            "quint2x4",
            "quint4x2",
            "quint8",
            "uint16",
            "uint32",
            "uint64",
            "uint8",
            # quantization schemes
            "per_channel_affine",
            "per_tensor_affine",
        }
    ),
    "torch._tensor": frozenset({"_rebuild_from_type_v2"}),
    "torch._utils": frozenset(
        {
            "_rebuild_meta_tensor_no_storage",
            "_rebuild_nested_tensor",
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
            "_rebuild_qtensor",
            "_rebuild_sparse_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_tensor_v3",
            "_rebuild_wrapper_subclass",
        }
    ),
    "torch.masked.maskedtensor.core": frozenset({"MaskedTensor"}),
    "torch.nn.parameter": frozenset({"UninitializedParameter"}),
    "torch.return_types": frozenset({"max"}),
    "torch.serialization": frozenset({"_get_layout"}),
    "torch.storage": frozenset({"UntypedStorage"}),
}

# Older and GPU checkpoints, and names torch writes in rarer cases; each read in torch's source
# (torch/_utils.py, torch/storage.py, torch/nn/parameter.py) and pure: they rebuild tensors,
# storages or parameters from data, or are dtype constants. GPU checkpoints name the
# torch.cuda storage classes in their persistent ids (map_location moves them to the CPU).
_TORCH_STORAGE_TYPES = frozenset(
    f"{kind}Storage"
    for kind in (
        "BFloat16",
        "Bool",
        "Byte",
        "Char",
        "ComplexDouble",
        "ComplexFloat",
        "Double",
        "Float",
        "Half",
        "Int",
        "Long",
        "Short",
    )
)
TORCH_BY_SOURCE: dict[str, frozenset[str]] = {
    "torch": frozenset({f"uint{n}" for n in range(1, 8)} | {f"int{n}" for n in range(1, 8)}),
    "torch._utils": frozenset(
        {
            "_rebuild_tensor",
            "_rebuild_device_tensor_from_numpy",
            "_rebuild_device_tensor_from_cpu_tensor",
        }
    ),
    "torch.cuda": _TORCH_STORAGE_TYPES,
    "torch.nn.parameter": frozenset({"Parameter", "Buffer"}),
    "torch.storage": frozenset({"TypedStorage"}),
}

# --- PyTorch: whole modules ------------------------------------------------------------------
# From torch.save(model) (zip and legacy) of standard layers and containers, i.e. not a state
# dict. Each class is only constructed (copyreg / NEWOBJ, then __setstate__ restores
# __dict__). torch.nn.functional.relu is TransformerEncoderLayer's default ``activation``.
TORCH_MODULES: dict[str, frozenset[str]] = {
    "torch.nn.functional": frozenset({"relu"}),
    "torch.nn.modules.activation": frozenset(
        {
            "GELU",
            "LeakyReLU",
            "MultiheadAttention",
            "PReLU",
            "ReLU",
            "SiLU",
            "Sigmoid",
            "Softmax",
            "Tanh",
        }
    ),
    "torch.nn.modules.batchnorm": frozenset({"BatchNorm1d", "BatchNorm2d"}),
    "torch.nn.modules.container": frozenset({"ModuleDict", "ModuleList", "ParameterList", "Sequential"}),
    "torch.nn.modules.conv": frozenset({"Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d"}),
    "torch.nn.modules.dropout": frozenset({"Dropout"}),
    "torch.nn.modules.flatten": frozenset({"Flatten"}),
    "torch.nn.modules.instancenorm": frozenset({"InstanceNorm2d"}),
    "torch.nn.modules.linear": frozenset(
        {"Bilinear", "Identity", "Linear", "NonDynamicallyQuantizableLinear"}
    ),
    "torch.nn.modules.normalization": frozenset({"GroupNorm", "LayerNorm"}),
    "torch.nn.modules.pooling": frozenset({"MaxPool2d"}),
    "torch.nn.modules.rnn": frozenset({"GRU", "LSTM", "RNN"}),
    "torch.nn.modules.sparse": frozenset({"Embedding", "EmbeddingBag"}),
    "torch.nn.modules.transformer": frozenset(
        {
            "Transformer",
            "TransformerDecoder",
            "TransformerDecoderLayer",
            "TransformerEncoder",
            "TransformerEncoderLayer",
        }
    ),
}

# --- Hugging Face Trainer checkpoints --------------------------------------------------------
# From torch.save(TrainingArguments(...)) = training_args.bin (transformers 5.x, accelerate):
# the enums it holds, rebuilt by calling the enum class with a value (a lookup). The
# TrainingArguments, AcceleratorConfig and PartialState objects themselves are in
# CONSTRUCT_ONLY. optimizer.pt, scheduler.pt, scaler.pt and rng_state.pth need nothing beyond
# TORCH, NUMPY and STDLIB.
HUGGINGFACE: dict[str, frozenset[str]] = {
    "accelerate.utils.dataclasses": frozenset({"DistributedType"}),
    "transformers.trainer_utils": frozenset(
        {"HubStrategy", "IntervalStrategy", "SaveStrategy", "SchedulerType"}
    ),
    "transformers.training_args": frozenset({"OptimizerNames"}),
}

# --- What torch's weights_only reader admits -----------------------------------------------------
# torch.load with weights_only=True (the default since torch 2.6) accepts these and nothing else
# (torch/_weights_only_unpickler.py, _get_allowed_globals and the globals torch itself marks
# safe; torch 2.13): the legacy tensor type objects, the remaining quantization schemes, nested
# tensors and device-mesh layouts. Each is a type or a rebuild function that only rebuilds data.
_TENSOR_TYPES = frozenset(
    f"{kind}Tensor"
    for kind in ("BFloat16", "Bool", "Byte", "Char", "Double", "Float", "Half", "Int", "Long", "Short")
)
TORCH_WEIGHTS_ONLY: dict[str, frozenset[str]] = {
    "torch": _TENSOR_TYPES
    | frozenset({"per_channel_affine_float_qparams", "per_channel_symmetric", "per_tensor_symmetric"}),
    "torch.cuda": _TENSOR_TYPES,
    "torch.sparse": _TENSOR_TYPES - {"BoolTensor"},
    "torch.cuda.sparse": _TENSOR_TYPES - {"BoolTensor"},
    "torch.nested._internal.nested_tensor": frozenset({"NestedTensor", "_rebuild_njt"}),
    "torch.distributed._mesh_layout": frozenset({"_MeshLayout", "_FlatLayout"}),
}

# --- Metadata training frameworks write around the weights -------------------------------------
# PyTorch Lightning checkpoints (lightning 2.x, pytorch_lightning 1.x): hyper-parameters saved
# from an argparse.Namespace, the torch version as torch.torch_version.TorchVersion (a str
# subclass), and hyper-parameter dicts as Lightning's AttributeDict (a dict subclass whose
# only addition is attribute access). Each is rebuilt by NEWOBJ and BUILD of a plain __dict__
# or dict items: no __setstate__, no I/O.
TRAINING_METADATA: dict[str, frozenset[str]] = {
    # NLTK's data pickles (punkt, taggers) hold FreqDist, a collections.Counter subclass that
    # REDUCE rebuilds from a dict (Counter.update: pure).
    "nltk.probability": frozenset({"FreqDist"}),
    "argparse": frozenset({"Namespace"}),
    "torch.torch_version": frozenset({"TorchVersion"}),
    "lightning.fabric.utilities.data": frozenset({"AttributeDict"}),
    "lightning_fabric.utilities.data": frozenset({"AttributeDict"}),
    "pytorch_lightning.utilities.parsing": frozenset({"AttributeDict"}),
}

# --- scikit-learn ----------------------------------------------------------------------------
# From pickle (protocols 4, 5) and joblib.dump of every estimator in all_estimators() that
# fits on tiny data (scikit-learn 1.9 and 1.5), fitted composites (Pipeline, ColumnTransformer,
# FeatureUnion, GridSearchCV / RandomizedSearchCV incl. multi-metric scoring, calibration,
# voting, stacking, TransformedTargetRegressor, FunctionTransformer, HistGradientBoosting with
# categorical features and early stopping), KDTree / BallTree; plus every public estimator
# class from all_estimators() at its defining module. Internals seen: Cython trees, losses,
# distance metrics, scorers, metadata-routing objects, and a few pure functions held as
# parameters (score functions, check_array, _kmeans_single_lloyd).
# ``_loss`` (top level) is scikit-learn 1.5's Cython module ``sklearn._loss._loss``, which
# registered itself under its short name: 1.5 pickles really say ``_loss.CyHalfSquaredError``.
# The short spelling is derived below from the full one.
SKLEARN: dict[str, frozenset[str]] = {
    "sklearn._loss._loss": frozenset(
        {
            "CyAbsoluteError",
            "CyExponentialLoss",
            "CyHalfBinomialLoss",
            "CyHalfGammaLoss",
            "CyHalfMultinomialLoss",
            "CyHalfPoissonLoss",
            "CyHalfSquaredError",
            "CyHalfTweedieLoss",
            "CyHalfTweedieLossIdentity",
            "CyHuberLoss",
            "CyPinballLoss",
            "__pyx_unpickle_CyAbsoluteError",
            "__pyx_unpickle_CyExponentialLoss",
            "__pyx_unpickle_CyHalfBinomialLoss",
            "__pyx_unpickle_CyHalfGammaLoss",
            "__pyx_unpickle_CyHalfMultinomialLoss",
            "__pyx_unpickle_CyHalfPoissonLoss",
            "__pyx_unpickle_CyHalfSquaredError",
            "__pyx_unpickle_CyHalfTweedieLoss",
            "__pyx_unpickle_CyHalfTweedieLossIdentity",
            "__pyx_unpickle_CyHuberLoss",
            "__pyx_unpickle_CyPinballLoss",
        }
    ),
    "sklearn._loss.link": frozenset(
        {
            "HalfLogitLink",
            "IdentityLink",
            "Interval",
            "LogLink",
            "LogitLink",
            "MultinomialLogit",
        }
    ),
    "sklearn._loss.loss": frozenset(
        {
            "AbsoluteError",
            "ExponentialLoss",
            "HalfBinomialLoss",
            "HalfGammaLoss",
            "HalfMultinomialLoss",
            "HalfPoissonLoss",
            "HalfSquaredError",
            "HalfTweedieLoss",
            "HalfTweedieLossIdentity",
            "HuberLoss",
            "PinballLoss",
        }
    ),
    "sklearn.calibration": frozenset(
        {
            "CalibratedClassifierCV",
            "_CalibratedClassifier",
            "_SigmoidCalibration",
        }
    ),
    "sklearn.cluster._affinity_propagation": frozenset({"AffinityPropagation"}),
    "sklearn.cluster._agglomerative": frozenset(
        {
            "AgglomerativeClustering",
            "FeatureAgglomeration",
        }
    ),
    "sklearn.cluster._bicluster": frozenset({"SpectralBiclustering", "SpectralCoclustering"}),
    "sklearn.cluster._birch": frozenset({"Birch", "_CFNode", "_CFSubcluster"}),
    "sklearn.cluster._bisect_k_means": frozenset({"BisectingKMeans", "_BisectingTree"}),
    "sklearn.cluster._dbscan": frozenset({"DBSCAN"}),
    "sklearn.cluster._hdbscan.hdbscan": frozenset({"HDBSCAN"}),
    "sklearn.cluster._kmeans": frozenset({"KMeans", "MiniBatchKMeans", "_kmeans_single_lloyd"}),
    "sklearn.cluster._mean_shift": frozenset({"MeanShift"}),
    "sklearn.cluster._optics": frozenset({"OPTICS"}),
    "sklearn.cluster._spectral": frozenset({"SpectralClustering"}),
    "sklearn.compose._column_transformer": frozenset({"ColumnTransformer", "_RemainderColsList"}),
    "sklearn.compose._target": frozenset({"TransformedTargetRegressor"}),
    "sklearn.covariance._elliptic_envelope": frozenset({"EllipticEnvelope"}),
    "sklearn.covariance._empirical_covariance": frozenset({"EmpiricalCovariance"}),
    "sklearn.covariance._graph_lasso": frozenset({"GraphicalLasso", "GraphicalLassoCV"}),
    "sklearn.covariance._robust_covariance": frozenset({"MinCovDet"}),
    "sklearn.covariance._shrunk_covariance": frozenset({"LedoitWolf", "OAS", "ShrunkCovariance"}),
    "sklearn.cross_decomposition._pls": frozenset(
        {
            "CCA",
            "PLSCanonical",
            "PLSRegression",
            "PLSSVD",
        }
    ),
    "sklearn.decomposition._dict_learning": frozenset(
        {
            "DictionaryLearning",
            "MiniBatchDictionaryLearning",
            "SparseCoder",
        }
    ),
    "sklearn.decomposition._factor_analysis": frozenset({"FactorAnalysis"}),
    "sklearn.decomposition._fastica": frozenset({"FastICA"}),
    "sklearn.decomposition._incremental_pca": frozenset({"IncrementalPCA"}),
    "sklearn.decomposition._kernel_pca": frozenset({"KernelPCA"}),
    "sklearn.decomposition._lda": frozenset({"LatentDirichletAllocation"}),
    "sklearn.decomposition._nmf": frozenset({"MiniBatchNMF", "NMF"}),
    "sklearn.decomposition._pca": frozenset({"PCA"}),
    "sklearn.decomposition._sparse_pca": frozenset({"MiniBatchSparsePCA", "SparsePCA"}),
    "sklearn.decomposition._truncated_svd": frozenset({"TruncatedSVD"}),
    "sklearn.discriminant_analysis": frozenset(
        {
            "LinearDiscriminantAnalysis",
            "QuadraticDiscriminantAnalysis",
        }
    ),
    "sklearn.dummy": frozenset({"DummyClassifier", "DummyRegressor"}),
    "sklearn.ensemble._bagging": frozenset({"BaggingClassifier", "BaggingRegressor"}),
    "sklearn.ensemble._forest": frozenset(
        {
            "ExtraTreesClassifier",
            "ExtraTreesRegressor",
            "RandomForestClassifier",
            "RandomForestRegressor",
            "RandomTreesEmbedding",
        }
    ),
    "sklearn.ensemble._gb": frozenset({"GradientBoostingClassifier", "GradientBoostingRegressor"}),
    "sklearn.ensemble._hist_gradient_boosting.binning": frozenset({"_BinMapper"}),
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting": frozenset(
        {
            "HistGradientBoostingClassifier",
            "HistGradientBoostingRegressor",
        }
    ),
    "sklearn.ensemble._hist_gradient_boosting.predictor": frozenset({"TreePredictor"}),
    "sklearn.ensemble._iforest": frozenset({"IsolationForest"}),
    "sklearn.ensemble._stacking": frozenset({"StackingClassifier", "StackingRegressor"}),
    "sklearn.ensemble._voting": frozenset({"VotingClassifier", "VotingRegressor"}),
    "sklearn.ensemble._weight_boosting": frozenset({"AdaBoostClassifier", "AdaBoostRegressor"}),
    "sklearn.feature_extraction._dict_vectorizer": frozenset({"DictVectorizer"}),
    "sklearn.feature_extraction._hash": frozenset({"FeatureHasher"}),
    "sklearn.feature_extraction.image": frozenset({"PatchExtractor"}),
    "sklearn.feature_extraction.text": frozenset(
        {
            "CountVectorizer",
            "HashingVectorizer",
            "TfidfTransformer",
            "TfidfVectorizer",
        }
    ),
    "sklearn.feature_selection._from_model": frozenset({"SelectFromModel"}),
    "sklearn.feature_selection._rfe": frozenset({"RFE", "RFECV"}),
    "sklearn.feature_selection._sequential": frozenset({"SequentialFeatureSelector"}),
    "sklearn.feature_selection._univariate_selection": frozenset(
        {
            "GenericUnivariateSelect",
            "SelectFdr",
            "SelectFpr",
            "SelectFwe",
            "SelectKBest",
            "SelectPercentile",
            "f_classif",
        }
    ),
    "sklearn.feature_selection._variance_threshold": frozenset({"VarianceThreshold"}),
    "sklearn.frozen._frozen": frozenset({"FrozenEstimator"}),
    "sklearn.gaussian_process._gpc": frozenset(
        {
            "GaussianProcessClassifier",
            "_BinaryGaussianProcessClassifierLaplace",
        }
    ),
    "sklearn.gaussian_process._gpr": frozenset({"GaussianProcessRegressor"}),
    "sklearn.gaussian_process.kernels": frozenset({"ConstantKernel", "Product", "RBF"}),
    "sklearn.impute._base": frozenset({"MissingIndicator", "SimpleImputer"}),
    "sklearn.impute._knn": frozenset({"KNNImputer"}),
    "sklearn.isotonic": frozenset({"IsotonicRegression"}),
    "sklearn.kernel_approximation": frozenset(
        {
            "AdditiveChi2Sampler",
            "Nystroem",
            "PolynomialCountSketch",
            "RBFSampler",
            "SkewedChi2Sampler",
        }
    ),
    "sklearn.kernel_ridge": frozenset({"KernelRidge"}),
    "sklearn.linear_model._base": frozenset({"LinearRegression"}),
    "sklearn.linear_model._bayes": frozenset({"ARDRegression", "BayesianRidge"}),
    "sklearn.linear_model._coordinate_descent": frozenset(
        {
            "ElasticNet",
            "ElasticNetCV",
            "Lasso",
            "LassoCV",
            "MultiTaskElasticNet",
            "MultiTaskElasticNetCV",
            "MultiTaskLasso",
            "MultiTaskLassoCV",
        }
    ),
    "sklearn.linear_model._glm.glm": frozenset(
        {
            "GammaRegressor",
            "PoissonRegressor",
            "TweedieRegressor",
        }
    ),
    "sklearn.linear_model._huber": frozenset({"HuberRegressor"}),
    "sklearn.linear_model._least_angle": frozenset(
        {
            "Lars",
            "LarsCV",
            "LassoLars",
            "LassoLarsCV",
            "LassoLarsIC",
        }
    ),
    "sklearn.linear_model._logistic": frozenset({"LogisticRegression", "LogisticRegressionCV"}),
    "sklearn.linear_model._omp": frozenset(
        {
            "OrthogonalMatchingPursuit",
            "OrthogonalMatchingPursuitCV",
        }
    ),
    "sklearn.linear_model._passive_aggressive": frozenset(
        {
            "PassiveAggressiveClassifier",
            "PassiveAggressiveRegressor",
        }
    ),
    "sklearn.linear_model._perceptron": frozenset({"Perceptron"}),
    "sklearn.linear_model._quantile": frozenset({"QuantileRegressor"}),
    "sklearn.linear_model._ransac": frozenset({"RANSACRegressor"}),
    "sklearn.linear_model._ridge": frozenset(
        {
            "Ridge",
            "RidgeCV",
            "RidgeClassifier",
            "RidgeClassifierCV",
        }
    ),
    "sklearn.linear_model._sgd_fast": frozenset({"Hinge", "Log", "ModifiedHuber", "SquaredHinge"}),
    "sklearn.linear_model._stochastic_gradient": frozenset(
        {
            "SGDClassifier",
            "SGDOneClassSVM",
            "SGDRegressor",
        }
    ),
    "sklearn.linear_model._theil_sen": frozenset({"TheilSenRegressor"}),
    "sklearn.manifold._classical_mds": frozenset({"ClassicalMDS"}),
    "sklearn.manifold._isomap": frozenset({"Isomap"}),
    "sklearn.manifold._locally_linear": frozenset({"LocallyLinearEmbedding"}),
    "sklearn.manifold._mds": frozenset({"MDS"}),
    "sklearn.manifold._spectral_embedding": frozenset({"SpectralEmbedding"}),
    "sklearn.manifold._t_sne": frozenset({"TSNE"}),
    "sklearn.metrics._classification": frozenset(
        {
            "accuracy_score",
            "balanced_accuracy_score",
            "f1_score",
        }
    ),
    "sklearn.metrics._dist_metrics": frozenset({"EuclideanDistance64", "newObj"}),
    "sklearn.metrics._scorer": frozenset({"_CurveScorer", "_PassthroughScorer", "_Scorer"}),
    "sklearn.mixture._bayesian_mixture": frozenset({"BayesianGaussianMixture"}),
    "sklearn.mixture._gaussian_mixture": frozenset({"GaussianMixture"}),
    "sklearn.model_selection._classification_threshold": frozenset(
        {
            "FixedThresholdClassifier",
            "TunedThresholdClassifierCV",
            "_CurveScorer",
        }
    ),
    "sklearn.model_selection._search": frozenset({"GridSearchCV", "RandomizedSearchCV"}),
    "sklearn.model_selection._search_successive_halving": frozenset(
        {
            "HalvingGridSearchCV",
            "HalvingRandomSearchCV",
        }
    ),
    "sklearn.model_selection._split": frozenset({"KFold", "StratifiedKFold"}),
    "sklearn.multiclass": frozenset(
        {
            "OneVsOneClassifier",
            "OneVsRestClassifier",
            "OutputCodeClassifier",
            "_ConstantPredictor",
        }
    ),
    "sklearn.multioutput": frozenset(
        {
            "ClassifierChain",
            "MultiOutputClassifier",
            "MultiOutputRegressor",
            "RegressorChain",
        }
    ),
    "sklearn.naive_bayes": frozenset(
        {
            "BernoulliNB",
            "CategoricalNB",
            "ComplementNB",
            "GaussianNB",
            "MultinomialNB",
        }
    ),
    "sklearn.neighbors._ball_tree": frozenset({"BallTree", "newObj"}),
    "sklearn.neighbors._classification": frozenset(
        {
            "KNeighborsClassifier",
            "RadiusNeighborsClassifier",
        }
    ),
    "sklearn.neighbors._graph": frozenset({"KNeighborsTransformer", "RadiusNeighborsTransformer"}),
    "sklearn.neighbors._kd_tree": frozenset({"KDTree", "newObj"}),
    "sklearn.neighbors._kde": frozenset({"KernelDensity"}),
    "sklearn.neighbors._lof": frozenset({"LocalOutlierFactor"}),
    "sklearn.neighbors._nca": frozenset({"NeighborhoodComponentsAnalysis"}),
    "sklearn.neighbors._nearest_centroid": frozenset({"NearestCentroid"}),
    "sklearn.neighbors._regression": frozenset({"KNeighborsRegressor", "RadiusNeighborsRegressor"}),
    "sklearn.neighbors._unsupervised": frozenset({"NearestNeighbors"}),
    "sklearn.neural_network._multilayer_perceptron": frozenset({"MLPClassifier", "MLPRegressor"}),
    "sklearn.neural_network._rbm": frozenset({"BernoulliRBM"}),
    "sklearn.neural_network._stochastic_optimizers": frozenset({"AdamOptimizer"}),
    "sklearn.pipeline": frozenset({"FeatureUnion", "Pipeline"}),
    "sklearn.preprocessing._data": frozenset(
        {
            "Binarizer",
            "KernelCenterer",
            "MaxAbsScaler",
            "MinMaxScaler",
            "Normalizer",
            "PowerTransformer",
            "QuantileTransformer",
            "RobustScaler",
            "StandardScaler",
        }
    ),
    "sklearn.preprocessing._discretization": frozenset({"KBinsDiscretizer"}),
    "sklearn.preprocessing._encoders": frozenset({"OneHotEncoder", "OrdinalEncoder"}),
    "sklearn.preprocessing._function_transformer": frozenset({"FunctionTransformer"}),
    "sklearn.preprocessing._label": frozenset(
        {
            "LabelBinarizer",
            "LabelEncoder",
            "MultiLabelBinarizer",
        }
    ),
    "sklearn.preprocessing._polynomial": frozenset({"PolynomialFeatures", "SplineTransformer"}),
    "sklearn.preprocessing._target_encoder": frozenset({"TargetEncoder"}),
    "sklearn.random_projection": frozenset({"GaussianRandomProjection", "SparseRandomProjection"}),
    "sklearn.semi_supervised._label_propagation": frozenset({"LabelPropagation", "LabelSpreading"}),
    "sklearn.semi_supervised._self_training": frozenset({"SelfTrainingClassifier"}),
    "sklearn.svm._classes": frozenset(
        {
            "LinearSVC",
            "LinearSVR",
            "NuSVC",
            "NuSVR",
            "OneClassSVM",
            "SVC",
            "SVR",
        }
    ),
    "sklearn.tree._classes": frozenset(
        {
            "DecisionTreeClassifier",
            "DecisionTreeRegressor",
            "ExtraTreeClassifier",
            "ExtraTreeRegressor",
        }
    ),
    "sklearn.tree._tree": frozenset({"Tree"}),
    "sklearn.utils._bunch": frozenset({"Bunch"}),
    "sklearn.utils._metadata_requests": frozenset({"MetadataRequest", "MethodMetadataRequest"}),
    "sklearn.utils.validation": frozenset({"check_array"}),
}

SKLEARN["_loss"] = SKLEARN["sklearn._loss._loss"]

# --- SciPy -----------------------------------------------------------------------------------
# From pickles of every scipy.sparse matrix / array format, frozen distributions (the
# scipy.stats objects RandomizedSearchCV parameter grids hold), and BSpline (SplineTransformer).
SCIPY: dict[str, frozenset[str]] = {
    "scipy._lib.array_api_compat.numpy._aliases": frozenset({"asarray"}),
    "scipy.interpolate._bsplines": frozenset({"BSpline"}),
    "scipy.sparse._bsr": frozenset({"bsr_array", "bsr_matrix"}),
    "scipy.sparse._coo": frozenset({"coo_array", "coo_matrix"}),
    "scipy.sparse._csc": frozenset({"csc_array", "csc_matrix"}),
    "scipy.sparse._csr": frozenset({"csr_array", "csr_matrix"}),
    "scipy.sparse._dia": frozenset({"dia_array", "dia_matrix"}),
    "scipy.sparse._dok": frozenset({"dok_array", "dok_matrix"}),
    "scipy.sparse._lil": frozenset({"lil_array", "lil_matrix"}),
    "scipy.stats._continuous_distns": frozenset({"norm_gen", "reciprocal_gen"}),
    "scipy.stats._distn_infrastructure": frozenset({"rv_continuous_frozen"}),
}

# --- pandas ----------------------------------------------------------------------------------
# From pickle (protocols 2, 4, 5) and joblib.dump of DataFrames with every column dtype
# (numeric, object, category, datetime with and without tz, timedelta, nullable Int64 /
# Float64 / boolean / string, period, interval), Series, every Index kind incl. MultiIndex,
# Timestamp, Timedelta, NaT, NA, Period, Interval, Categorical, SparseArray, DateOffset.
# pandas 3.x writes public names (``pandas.DataFrame``), pandas 2.x defining modules
# (``pandas.core.frame.DataFrame``): both are listed. dateutil's relativedelta is what a
# DateOffset holds.
PANDAS: dict[str, frozenset[str]] = {
    "dateutil.relativedelta": frozenset({"relativedelta"}),
    "pandas": frozenset(
        {
            "BooleanDtype",
            "Categorical",
            "CategoricalDtype",
            "CategoricalIndex",
            "DataFrame",
            "DateOffset",
            "DatetimeIndex",
            "DatetimeTZDtype",
            "Float64Dtype",
            "Index",
            "Int64Dtype",
            "Interval",
            "IntervalDtype",
            "MultiIndex",
            "NA",
            "Period",
            "PeriodDtype",
            "RangeIndex",
            "Series",
            "SparseDtype",
            "StringDtype",
        }
    ),
    "pandas._libs.arrays": frozenset({"__pyx_unpickle_NDArrayBacked"}),
    "pandas._libs.internals": frozenset({"_unpickle_block"}),
    "pandas._libs.interval": frozenset({"Interval", "__pyx_unpickle_IntervalMixin"}),
    "pandas._libs.missing": frozenset({"NA"}),
    "pandas._libs.sparse": frozenset({"IntIndex"}),
    "pandas._libs.tslibs.nattype": frozenset({"__nat_unpickle", "_nat_unpickle"}),
    "pandas._libs.tslibs.offsets": frozenset({"DateOffset", "Day", "MonthEnd"}),
    "pandas._libs.tslibs.period": frozenset({"Period"}),
    "pandas._libs.tslibs.timedeltas": frozenset({"_timedelta_unpickle"}),
    "pandas._libs.tslibs.timestamps": frozenset({"_unpickle_timestamp"}),
    "pandas.arrays": frozenset(
        {
            "BooleanArray",
            "DatetimeArray",
            "FloatingArray",
            "IntegerArray",
            "IntervalArray",
            "PeriodArray",
            "SparseArray",
            "StringArray",
            "TimedeltaArray",
        }
    ),
    "pandas.core.arrays.boolean": frozenset({"BooleanArray", "BooleanDtype"}),
    "pandas.core.arrays.categorical": frozenset({"Categorical"}),
    "pandas.core.arrays.datetimes": frozenset({"DatetimeArray"}),
    "pandas.core.arrays.floating": frozenset({"Float64Dtype", "FloatingArray"}),
    "pandas.core.arrays.integer": frozenset({"Int64Dtype", "IntegerArray"}),
    "pandas.core.arrays.interval": frozenset({"IntervalArray"}),
    "pandas.core.arrays.period": frozenset({"PeriodArray"}),
    "pandas.core.arrays.sparse.array": frozenset({"SparseArray"}),
    "pandas.core.arrays.string_": frozenset({"StringArray", "StringDtype"}),
    "pandas.core.arrays.timedeltas": frozenset({"TimedeltaArray"}),
    "pandas.core.dtypes.dtypes": frozenset(
        {"CategoricalDtype", "DatetimeTZDtype", "IntervalDtype", "PeriodDtype", "SparseDtype"}
    ),
    "pandas.core.frame": frozenset({"DataFrame"}),
    "pandas.core.indexes.base": frozenset({"Index", "_new_Index"}),
    "pandas.core.indexes.category": frozenset({"CategoricalIndex"}),
    "pandas.core.indexes.datetimes": frozenset({"DatetimeIndex", "_new_DatetimeIndex"}),
    "pandas.core.indexes.multi": frozenset({"MultiIndex"}),
    "pandas.core.indexes.range": frozenset({"RangeIndex"}),
    "pandas.core.internals.managers": frozenset({"BlockManager", "SingleBlockManager"}),
    "pandas.core.series": frozenset({"Series"}),
}

# --- xgboost / lightgbm scikit-learn wrappers ------------------------------------------------
# From pickle and joblib.dump of fitted XGBClassifier / XGBRegressor (xgboost 3.2) and
# LGBMClassifier / LGBMRegressor (lightgbm 4.7). Their Booster objects are in CONSTRUCT_ONLY.
BOOSTING: dict[str, frozenset[str]] = {
    "lightgbm.sklearn": frozenset({"LGBMClassifier", "LGBMRegressor"}),
    "xgboost.sklearn": frozenset({"XGBClassifier", "XGBRegressor"}),
}

# Every ecosystem, for reports and for policies that trust only some of them.
ECOSYSTEMS: dict[str, dict[str, frozenset[str]]] = {
    "stdlib": STDLIB,
    "numpy": NUMPY,
    "joblib": JOBLIB,
    "torch": TORCH,
    "torch-by-source": TORCH_BY_SOURCE,
    "torch-modules": TORCH_MODULES,
    "huggingface": HUGGINGFACE,
    "torch-weights-only": TORCH_WEIGHTS_ONLY,
    "training-metadata": TRAINING_METADATA,
    "sklearn": SKLEARN,
    "scipy": SCIPY,
    "pandas": PANDAS,
    "boosting": BOOSTING,
}

ALLOWED: dict[str, frozenset[str]] = _merge(*ECOSYSTEMS.values())

# --- TorchScript -----------------------------------------------------------------------------
# From torch.jit.save of scripted and traced modules (attributes of list / dict / tuple /
# Optional types, LSTM, conv+bn, a transformer layer, frozen, dynamically quantized). Their
# constants.pkl / data.pkl are read by TorchScript's own pickle loader, which never imports Python
# modules: it maps these identity helpers (torch/jit/_pickle.py) to list constructors and type
# tags. Everything else those archives reference is in ALLOWED (OrderedDict, storages,
# _rebuild_tensor_v2, _rebuild_qtensor, qschemes) or is a ``__torch__.*`` class.
TORCHSCRIPT_ALLOWED: dict[str, frozenset[str]] = {
    "torch.jit._pickle": frozenset(
        {
            "build_boollist",
            "build_doublelist",
            "build_intlist",
            "build_tensor_from_id",
            "build_tensorlist",
            "restore_type_tag",
        }
    ),
}

# TorchScript class references (``__torch__.torch.nn.modules.linear.Linear``,
# ``__torch__.MyModel``, ``__torch__.torch.classes.quantized.LinearPackedParamsBase``):
# resolved by the TorchScript compilation unit from the archive's code/, never imported.
TORCHSCRIPT_CLASS_PREFIX = "__torch__"

# --- Construct-only ----------------------------------------------------------------------------
# Classes benign pickles only instantiate without calling them (NEWOBJ, or argument 0 of
# copyreg._reconstructor / a rebuild helper), then restore with __setstate__ / __dict__. That
# is safe; CALLING them (REDUCE / INST / OBJ, or as argument 1 of copyreg._reconstructor) runs
# __init__ / __post_init__ with attacker arguments, which reads files or sets up networking.
# Deliberately not in ALLOWED: the engine should accept them only when constructed.
CONSTRUCT_ONLY: dict[tuple[str, str], str] = {
    ("xgboost.core", "Booster"): "Booster(params, cache, model_file) loads model_file from disk",
    ("lightgbm.basic", "Booster"): "Booster(params, train_set, model_file) reads model_file",
    ("transformers.training_args", "TrainingArguments"): (
        "__post_init__ reads accelerator_config JSON files, creates directories and "
        "initialises accelerate / torch.distributed from the environment"
    ),
    ("transformers.trainer_pt_utils", "AcceleratorConfig"): (
        "companion of TrainingArguments (training_args.bin); __post_init__ parses its fields"
    ),
    ("accelerate.state", "PartialState"): (
        "__init__ may call torch.distributed.init_process_group (network) from env variables"
    ),
}

# --- Special ---------------------------------------------------------------------------------
# Globals that benign pickles do use but that are NOT safe by name alone. The engine must
# decide from their arguments (and should report them when it cannot).
SPECIAL: dict[tuple[str, str], str] = {
    ("numpy.core", "_ufunc_reconstruct"): (
        "import-by-name gadget: _ufunc_reconstruct(module, name) imports any module and "
        "returns any attribute; older numpy wrote ufuncs this way. Safe only when the "
        "(module, name) arguments are constants that are themselves allowlisted"
    ),
    ("numpy._core", "_ufunc_reconstruct"): "numpy 2 spelling of numpy.core._ufunc_reconstruct",
    ("torch.storage", "_load_from_bytes"): (
        "nested loader: runs torch's full loader (weights_only=False) on its bytes argument; "
        "what pickle.dumps(tensor) writes. Safe only when the bytes are a constant and the "
        "torch file inside is itself clean"
    ),
    ("functools", "partial"): (
        "higher-order: binds arbitrary arguments to a callable that later code calls (and "
        "__setstate__ can swap the callable). scikit-learn's HistGradientBoostingClassifier "
        "with categorical_features writes partial(sklearn.utils.validation.check_array, ...). "
        "Acceptable only when the callable (argument 0, or element 0 of a BUILD state) is an "
        "allowlisted pure function"
    ),
    ("builtins", "getattr"): (
        "reaches any attribute (e.g. __globals__, os.system through a module): bound-method "
        "references are pickled as getattr(obj, 'name'). Never trusted by name"
    ),
    ("copyreg", "__newobj__"): (
        "what the NEWOBJ opcode does, written as a call: constructs argument 0. Only "
        "hand-written pickles name it; treat like NEWOBJ on argument 0"
    ),
    ("copyreg", "__newobj_ex__"): "as copyreg.__newobj__, with keyword arguments",
}

# --- Higher-order allowlisted functions ------------------------------------------------------
# Positions of arguments that an allowlisted function calls or instantiates; a global passed
# there must itself be allowlisted for that use. (Values stored and called later, such as
# tensors' backward_hooks or a defaultdict's factory, count: they become callable by the
# victim's code.)
CALLS_ARGUMENTS: dict[tuple[str, str], tuple[int, ...]] = {
    ("copyreg", "_reconstructor"): (0, 1),  # base.__new__(cls); base.__init__(obj, state)
    ("collections", "defaultdict"): (0,),  # default_factory() on a missing key
    ("numpy.core.multiarray", "_reconstruct"): (0,),  # ndarray subtype, __array_finalize__
    ("numpy._core.multiarray", "_reconstruct"): (0,),
    ("numpy.core._internal", "_reconstruct"): (0,),  # ndarray.__new__(subtype, ...)
    ("numpy.ma.core", "_mareconstruct"): (0, 1),  # subtype.__new__, baseclass
    ("numpy.random._pickle", "__bit_generator_ctor"): (0,),  # a BitGenerator class is called
    ("numpy.random._pickle", "__generator_ctor"): (0, 1),  # ctor(name_or_class)
    ("numpy.random._pickle", "__randomstate_ctor"): (0, 1),
    ("torch._tensor", "_rebuild_from_type_v2"): (0, 1),  # func(*args).as_subclass(new_type)
    ("torch._utils", "_rebuild_wrapper_subclass"): (0,),  # _make_wrapper_subclass(cls, ...)
    ("pandas.core.indexes.base", "_new_Index"): (0,),  # cls.__new__ / cls._simple_new
    ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"): (0,),
    # scikit-learn's Cython helper: newObj(cls) -> cls.__new__(cls)
    ("sklearn.metrics._dist_metrics", "newObj"): (0,),
    ("sklearn.neighbors._ball_tree", "newObj"): (0,),
    ("sklearn.neighbors._kd_tree", "newObj"): (0,),
}
# Cython's generated __pyx_unpickle_<Class>(type, checksum, state) instantiates argument 0.
CALLS_ARGUMENTS.update(
    {
        (module, name): (0,)
        for module, names in ALLOWED.items()
        for name in names
        if name.startswith("__pyx_unpickle_")
    }
)
