"""How much of PyTorch's API autodiff mirrors: a report, and the checked-in list of names in scope.

    python scripts/surface.py            # needs torch: rewrites docs/surface/scope.txt and
                                         # docs/surface/report.md from torch's live namespaces

For each namespace we mirror (torch -> autodiff, torch.Tensor -> autodiff.Tensor, torch.linalg,
torch.special, torch.nn.functional, torch.nn, torch.nn.init, torch.optim and its schedulers and
SWA utilities) it lists torch's public names, sorts out those
out of scope (each rule below gives its reason) and compares the rest with ours. scope.txt
records the outcome: the names in scope, the ones of them still missing, and the out-of-scope
names under their reasons; tests/test_surface.py reads it without torch and checks that every
in-scope name not listed as missing exists (and that the missing ones really are missing).
"""
import argparse
import os
import re
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCOPE_FILE = os.path.join(ROOT, "docs", "surface", "scope.txt")
REPORT_FILE = os.path.join(ROOT, "docs", "surface", "report.md")

# (namespace, torch's module path, ours as "module" or "module:attribute", issue that owns it)
NAMESPACES = [
    ("torch", "torch", "autodiff", 13),
    ("Tensor", "torch:Tensor", "autodiff:Tensor", 13),
    ("linalg", "torch.linalg", "autodiff.linalg", 13),
    ("special", "torch.special", "autodiff.special", 13),
    ("nn.functional", "torch.nn.functional", "nn.functional", 14),
    ("nn", "torch.nn", "nn", 14),
    ("nn.init", "torch.nn.init", "nn.init", 14),
    ("optim", "torch.optim", "nn.optim", 14),
    ("optim.lr_scheduler", "torch.optim.lr_scheduler", "nn.optim.lr_scheduler", 14),
    ("optim.swa_utils", "torch.optim.swa_utils", "nn.optim.swa_utils", 14),
    ("nn.utils.rnn", "torch.nn.utils.rnn", "nn.utils.rnn", 15),
]
# Namespaces whose coverage this project holds at 95% or more (the others belong to open issues).
HELD = ("torch", "Tensor", "linalg", "special", "nn.functional", "nn", "nn.init", "optim",
        "optim.lr_scheduler", "optim.swa_utils", "nn.utils.rnn")
TARGET = 0.95


def _rx(pattern):
    rx = re.compile(pattern)
    return lambda ns, name: bool(rx.search(name))


def _names(*names):
    names = set(" ".join(names).split())
    return lambda ns, name: name in names


def _any(*rules):
    return lambda ns, name: any(rule(ns, name) for rule in rules)


def _only(space, rule):
    return lambda ns, name: ns == space and rule(ns, name)


NN_ALIASES_IN_TORCH = _names(
    "adaptive_avg_pool1d adaptive_max_pool1d affine_grid_generator alpha_dropout alpha_dropout_",
    "avg_pool1d batch_norm bilinear binary_cross_entropy_with_logits celu celu_ channel_shuffle",
    "conv1d conv2d conv3d conv_tbc conv_transpose1d conv_transpose2d conv_transpose3d",
    "convolution cosine_embedding_loss cosine_similarity ctc_loss dropout dropout_ embedding",
    "embedding_bag embedding_renorm_ feature_alpha_dropout feature_alpha_dropout_",
    "feature_dropout feature_dropout_ grid_sampler grid_sampler_2d grid_sampler_3d group_norm gru",
    "gru_cell hardshrink hinge_embedding_loss instance_norm kl_div layer_norm lstm lstm_cell",
    "margin_ranking_loss max_pool1d max_pool1d_with_indices max_pool2d max_pool3d",
    "pairwise_distance pixel_shuffle pixel_unshuffle poisson_nll_loss prelu relu_ rms_norm",
    "rnn_relu rnn_relu_cell rnn_tanh rnn_tanh_cell rrelu rrelu_ selu selu_ threshold threshold_",
    "triplet_margin_loss constant_pad_nd native_channel_shuffle")

# (reason, rule): the first rule that matches a name puts it out of scope, under its reason.
OUT_OF_SCOPE = [
    ("imports that torch's module happens to expose (not part of the namespace)",
     lambda ns, name: ns in ("special", "linalg", "nn.functional", "nn.utils.rnn") and name in (
         "Tensor", "torch", "Callable", "Optional", "DType", "TYPE_CHECKING", "Any", "Iterable",
         "NamedTuple", "Self", "TypeVar")),
    ("torch.nn.utils.rnn's private helpers (PackedSequence's namedtuple base, method binding)",
     _only("nn.utils.rnn", _names("PackedSequence_ bind copy_method_params"))),
    ("complex dtypes (numpy has them, autodiff's gradients are real-only)",
     _any(_rx(r"complex|conj|polar|view_as_real|^angle_?$|^real$|^imag$|resolve_neg|^is_neg$"
              r"|^chalf$|^cfloat$|^cdouble$|^adjoint$|^H$|^mH$"),
          _only("linalg", _names("eig eigvals")))),  # complex eigenvalues of real matrices
    ("sparse tensors", _rx(r"sparse|coalesce|indices_copy|^indices$|crow_|ccol_|col_indices"
                           r"|row_indices|^values$|to_dense|^d?s?smm$|spmm|hspmm|saddmm|sspaddmm"
                           r"|^hsmm$|_nnz|^nnz$|dense_dim|to_padded_tensor")),
    ("quantized tensors", _rx(r"quant|^q_|qscheme|int_repr|fbgemm|^q?u?int\d+x\d|^qint|^quint"
                              r"|per_channel|per_tensor|choose_qparams")),
    ("devices other than the CPU (CUDA, MPS, XPU, IPU, XLA, ...) and memory pinning",
     _rx(r"cuda|cudnn|miopen|mkldnn|mps|xpu|^hip|vulkan|mtia|ipu|xla|hpu|^is_meta$|pin_memory"
         r"|is_pinned|share_memory|is_shared|^get_device|accelerator|^is_distributed$"
         r"|AcceleratorError|OutOfMemoryError|^Stream$|^Event$|^stream$|record_stream"
         r"|^to_mkldnn$|^is_mkldnn$|^is_ipu$|^is_maia$|^maia$|^ipc_handle$")),
    ("named tensors", _rx(r"^names$|^rename_?$|refine_names|^align_")),
    ("fft and signal processing (torch.fft: a later issue)",
     _rx(r"fft|stft|istft|_window$")),
    ("nested and jagged tensors", _rx(r"nested|jagged")),
    ("TorchScript, torch.compile, dispatch and tracing machinery (not an array API)",
     _rx(r"Type$|^Script|^Graph|^Code$|^Block$|^Node$|^Value$|^Use$|^Argument|^Aggregation"
         r"|^AliasDb|^Benchmark|^CallStack|^Capsule|^CompilationUnit|^Complete|^Concrete"
         r"|^DeepCopy|^Deserialization|^Serialization|^Disable|^Dispatch|^ErrorReport"
         r"|^ExcludeDispatch|^ExecutionPlan|^FatalError|^FileCheck|^Function|^Future"
         r"|^Gradient$|^GraphExecutor|^IODescriptor|^InferredType|^JITException|^LiteScript"
         r"|^Locking|^Logger|^Noop|^Operator|^PyTorchFile|^StaticModule|^Sym|^Tag$"
         r"|^Throughput|^TracingState|^Type$|^sym_|^fork$|^wait$|parse_ir|parse_schema"
         r"|import_ir|merge_type|parse_type|unify_type|^compile$|^cond$|^while_loop$|^vmap$"
         r"|classproperty|PRIVATE_OPS|TYPE_CHECKING|^USE_|compiled_with|get_file_path"
         r"|prepare_multiprocessing|profiler_|autocast|^AVG$|^SUM$|^BufferDict$"
         r"|has_torch_function|handle_torch_function"
         r"|boolean_dispatch|^BroadcastingList|^Callable$|^Optional$|^DType$|_notes$"
         r"|common_args|multi_dim_common|^Swizzle|^Scaling|hash_tensor|thread_safe_generator"
         r"|^GradScaler$|^is_inference$|^apply_$|^map_$|^map2_$|^dim_order$"
         r"|^nonzero_static$|^module_load$|^as_subclass$|^mark_")),
    ("TorchScript's own ModuleDict/ParameterDict types at the top level (nn's are in scope)",
     _only("torch", _names("ModuleDict ParameterDict"))),
    ("storage objects, memory formats and layouts (numpy arrays are strided, one layout)",
     _rx(r"Storage|^storage|^is_storage$|^from_file$|^set_$|^resize_|^layout$|^memory_format$"
         r"|_format$|^channels_last|^strided$|^set_default_tensor_type$|^new_empty_strided$"
         r"|^empty_strided$|^empty_permuted$|^is_set_to$|^untyped_storage$|^is_contiguous$")),
    ("functionalization and view-copy internals (undocumented ATen ops)",
     _rx(r"_copy$|^unsafe_|^as_strided|^native_|_backward|^batch_norm_\w|segment_reduce"
         r"|norm_except_dim|^slice_inverse$|^fill$|^zero_$|^detach_$|^rsub$|^split_with_sizes$"
         r"|^is_same_size$|^scalar_tensor$|^bit$|^fused_|^nuclear_norm$|^frobenius_norm$"
         r"|_with_indices$|^grouped_mm$|^scaled_mm$|^scaled_grouped_mm$")),
    ("deprecated in PyTorch (use the replacement named in its docs)",
     lambda ns, name: (ns in ("torch", "Tensor") and name in (
         "symeig", "eig", "lstsq", "trapz", "range", "matrix_rank", "solve", "reinforce",
         "volatile", "resize", "output_nr")) or bool(
         re.search(r"^upsample|^NLLLoss2d$|^Container$|^assert_int_or_pair$|^factory_kwargs$",
                   name))),
    ("exotic dtypes numpy lacks (bfloat16, float8, sub-byte ints)",
     _rx(r"bfloat16|float8|float4|^bits|^u?int[1-7]$|^BFloat16")),
    ("backend switches with no numpy counterpart (threads: issue 16)",
     _rx(r"num_threads|num_interop|deterministic|matmul_precision|flush_denormal|warn_always"
         r"|^has_(lapack|mkl|openmp|spectral)$|default_device")),
    ("torch.save/torch.load: checkpoints are nn.save/nn.load (issue 17)",
     _only("torch", _names("save load"))),
    ("nn.functional forms that torch also re-exports at top level (undocumented there; see "
     "nn.functional, issues 14-15)", _only("torch", NN_ALIASES_IN_TORCH)),
    ("top-level in-place forms such as torch.abs_ (undocumented; the Tensor methods are in "
     "scope)", lambda ns, name: ns == "torch" and name.endswith("_")),
    ("multi-GPU data parallelism (DistributedDataParallel over MPI is issue 16)",
     _names("DataParallel")),
    ("synchronised batch norm across processes (issue 16, with DistributedDataParallel)",
     _only("nn", _names("SyncBatchNorm"))),
    ("typing names and deprecated aliases that torch.nn.init exposes (the deprecated "
     "non-underscore initialisers: use the in-place forms such as xavier_uniform_)",
     _only("nn.init", _names("Literal ParamSpec Tensor TypeVar constant eye dirac uniform normal "
                             "kaiming_normal kaiming_uniform xavier_normal xavier_uniform "
                             "orthogonal sparse"))),
    ("sparse gradients (SparseAdam)", _only("optim", _names("SparseAdam"))),
    ("Muon: PyTorch orthogonalises its update in bfloat16, which numpy lacks, so its steps could "
     "not be matched", _only("optim", _names("Muon"))),
    ("typing helpers and base classes that torch.optim's modules happen to expose",
     lambda ns, name: ns.startswith("optim") and name in (
         "Tensor", "Optimizer", "Iterable", "Callable", "Optional", "Union", "Any", "cast",
         "overload", "Literal", "Sequence", "TypeAlias", "ParamsT", "Module", "deepcopy",
         "itertools", "math", "warnings", "weakref", "wraps", "partial", "Counter", "inf",
         "bisect_right", "types", "TYPE_CHECKING", "SupportsFloat", "TypedDict", "Self",
         "override", "ref", "torch", "LRScheduler", "annotations") and ns != "optim"
     or ns.startswith("optim.") and name == "Optimizer"),
    ("first-class dimensions (functorch.dim's Tensor.index)", _only("Tensor", _names("index"))),
    ("a gradient dtype other than the tensor's (decided: gradient dtype = tensor dtype)",
     _only("Tensor", _names("grad_dtype"))),
]


def _load(path):
    import importlib
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attr) if attr else obj


def torch_names(path):
    obj = _load(path)
    return sorted(n for n in dir(obj) if not n.startswith("_")
                  and not isinstance(getattr(obj, n, None), types.ModuleType))


def classify(ns, names):
    """{name: reason} for the out-of-scope names, and the sorted in-scope names."""
    out, inside = {}, []
    for name in names:
        reason = next((r for r, rule in OUT_OF_SCOPE if rule(ns, name)), None)
        if reason:
            out[name] = reason
        else:
            inside.append(name)
    return out, inside


def has_name(ours, name):
    module = ours.partition(":")[0]
    try:
        return hasattr(_load(ours), name)
    except ModuleNotFoundError as e:  # a namespace we do not have yet: all of it is missing
        if e.name != module:
            raise  # ours exists but fails to import: a bug to show, not missing names
        return False


# --- the scope file ----------------------------------------------------------------------------

def write_scope(sections):
    lines = ["# The PyTorch names autodiff mirrors, by namespace: written by scripts/surface.py",
             "# (with torch installed), read by tests/test_surface.py (without it).",
             "# in_scope: names we provide; missing: in scope, not provided yet;",
             "# out_of_scope <reason>: names we deliberately leave out.", ""]
    for ns, ours, inside, missing, out in sections:
        lines.append(f"## {ns} -> {ours}")
        lines += ["in_scope:"] + _wrap(inside)
        lines += ["missing:"] + _wrap(missing)
        for reason in [r for r, _ in OUT_OF_SCOPE if r in out.values()]:
            lines += [f"out_of_scope: {reason}"]
            lines += _wrap(sorted(n for n, r in out.items() if r == reason))
        lines.append("")
    _atomic_write(SCOPE_FILE, "\n".join(lines))


def _wrap(names, width=96):
    lines, line = [], "   "
    for n in names:
        if len(line) + len(n) + 1 > width:
            lines.append(line)
            line = "   "
        line += " " + n
    if line.strip():
        lines.append(line)
    return lines


def read_scope(path=SCOPE_FILE):
    """{namespace: {"ours": path, "in_scope": [...], "missing": [...], "out_of_scope": {reason:
    [...]}}} from the scope file."""
    spaces, section, current = {}, None, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#") and not line.startswith("## "):
                continue
            if line.startswith("## "):
                ns, _, ours = line[3:].partition(" -> ")
                current = spaces[ns] = {"ours": ours, "in_scope": [], "missing": [],
                                        "out_of_scope": {}}
            elif line.startswith("out_of_scope: "):
                section = current["out_of_scope"].setdefault(line[len("out_of_scope: "):], [])
            elif line.endswith(":") and not line.startswith(" "):
                section = current[line[:-1]]
            else:
                section.extend(line.split())
    return spaces


def _atomic_write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# --- the report ----------------------------------------------------------------------------------

def main(argv=None):
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args(argv)
    try:
        import torch
    except ImportError:
        sys.exit("surface.py compares against PyTorch: pip install torch==2.13.0 (CPU build)")
    sys.path.insert(0, ROOT)
    sections, rows, details = [], [], []
    for ns, theirs, ours, issue in NAMESPACES:
        out, inside = classify(ns, torch_names(theirs))
        missing = [n for n in inside if not has_name(ours, n)]
        sections.append((ns, ours, inside, missing, out))
        have = len(inside) - len(missing)
        cover = have / len(inside) if inside else 1.0
        held = "yes" if ns in HELD else f"issue {issue}"
        rows.append(f"| `{theirs.replace(':', '.')}` | {len(inside) + len(out)} | {len(out)} | "
                    f"{len(inside)} | {have} | {cover:.1%} | {held} |")
        details.append(f"### `{theirs.replace(':', '.')}`: {len(missing)} missing\n\n"
                       + (", ".join(f"`{n}`" for n in missing) or "none") + "\n")
    write_scope(sections)
    report = [
        "# PyTorch API coverage", "",
        f"Generated by `python scripts/surface.py` against torch {torch.__version__}. Names in "
        "scope are torch's public names minus the out-of-scope ones, each listed with its "
        "reason in [scope.txt](scope.txt); `tests/test_surface.py` keeps the list honest "
        "without torch. The target is 95% of the in-scope names of each namespace.", "",
        "| namespace | torch names | out of scope | in scope | provided | coverage | at 95% |",
        "|---|---|---|---|---|---|---|", *rows, "", "## Missing names", "", *details]
    _atomic_write(REPORT_FILE, "\n".join(report))
    print("\n".join(rows))
    print(f"wrote {os.path.relpath(SCOPE_FILE, ROOT)} and {os.path.relpath(REPORT_FILE, ROOT)}")


if __name__ == "__main__":
    main()
