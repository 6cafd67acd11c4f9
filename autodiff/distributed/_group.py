"""The process group over MPI: init_process_group, ranks, ReduceOp, new_group (torch's names).

The default group is MPI.COMM_WORLD: `mpiexec -n N` gives each process its rank and the world
size; a process started without mpiexec is a world of one (mpi4py's singleton MPI_Init).
mpi4py is imported only here, lazily, so `import autodiff.distributed` needs no MPI.
"""
import enum

NEEDS_MPI = ("autodiff.distributed needs mpi4py and an MPI library: pip install "
             "'autodiff[distributed]' (mpi4py and the mpich wheel; no system MPI needed)")
NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")


class DistError(RuntimeError):
    """torch.distributed.DistError: a collective failed."""


class DistBackendError(DistError):
    """torch.distributed.DistBackendError"""


class DistNotInitializedError(ValueError, RuntimeError):
    """The process group is not initialised, or initialised twice."""
    # torch 2.13 raises ValueError here; code written against older torch catches RuntimeError
    pass


def is_available():
    """Whether mpi4py (and so an MPI library) can be imported (MPI itself starts only at
    init_process_group)."""
    try:
        import mpi4py  # noqa: F401  (the package only: it does not start MPI)
    except ImportError:
        return False
    return True


def is_mpi_available():
    return is_available()


def is_nccl_available():
    return False


def is_gloo_available():
    return False


def is_torchelastic_launched():
    return False


def _mpi():
    """mpi4py's MPI module (initialises MPI on first import), or the ImportError naming the
    extra."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(NEEDS_MPI) from e
    return MPI


class Backend(str):
    """torch.distributed.Backend: the backend's name, lower case. Only "mpi" exists here."""
    UNDEFINED = "undefined"
    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        return str.__new__(cls, name.lower())


class RedOpType(enum.IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class ReduceOp:
    """torch.distributed.ReduceOp: SUM, AVG (SUM, then divided by the group size), PRODUCT,
    MIN, MAX and the bitwise BAND, BOR, BXOR (integer and bool tensors)."""
    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


def _mpi_op(op):
    """The MPI reduction for a ReduceOp (AVG reduces with SUM; the caller divides)."""
    MPI = _mpi()
    try:
        op = RedOpType(op)
    except ValueError:
        raise ValueError(f"op={op!r} is not a ReduceOp: use ReduceOp.SUM, AVG, PRODUCT, MIN, "
                         f"MAX, BAND, BOR or BXOR") from None
    return {RedOpType.SUM: MPI.SUM, RedOpType.AVG: MPI.SUM, RedOpType.PRODUCT: MPI.PROD,
            RedOpType.MIN: MPI.MIN, RedOpType.MAX: MPI.MAX, RedOpType.BAND: MPI.BAND,
            RedOpType.BOR: MPI.BOR, RedOpType.BXOR: MPI.BXOR}[op]


class ProcessGroup:
    """A group of processes and its MPI communicator. `ranks` are the members' global ranks
    (ranks in the default group), in group-rank order."""

    def __init__(self, comm, ranks):
        self.comm = comm
        self.ranks = list(ranks)

    def rank(self):
        return self.comm.Get_rank()

    def size(self):
        return self.comm.Get_size()

    def name(self):
        return Backend.MPI

    def __repr__(self):
        return f"ProcessGroup(backend='mpi', ranks={self.ranks})"


class _NonMember:
    """What new_group returns to a process outside the group (torch's NON_GROUP_MEMBER)."""

    def __repr__(self):
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    WORLD = None  # set by init_process_group (the default group)
    NON_GROUP_MEMBER = _NonMember()


class group:
    WORLD = None  # the default group once initialised (torch.distributed.group.WORLD)


class _State:
    default = None  # the default ProcessGroup
    timeout = None


_state = _State()


def _set_world(pg):
    _state.default = GroupMember.WORLD = group.WORLD = pg


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Joins the default process group: MPI.COMM_WORLD (the ranks mpiexec started; one process
    alone without it). `rank` and `world_size`, when given, must agree with MPI's."""
    if _state.default is not None:
        raise DistNotInitializedError("trying to initialize the default process group twice! "
                                 "Call destroy_process_group() first to start a new one.")
    name = "mpi" if backend is None else str(backend).lower()
    if name not in ("mpi", "undefined"):
        raise ValueError(f"init_process_group: backend {backend!r} is not supported; "
                         f"autodiff.distributed runs over MPI only: use backend='mpi' and "
                         f"start the processes with mpiexec -n N")
    if init_method not in (None, "env://") and not str(init_method).startswith(
            ("env://", "tcp://", "file://")):
        raise ValueError(f"init_process_group: init_method {init_method!r} is not a URL "
                         f"(env://, tcp://, file://); with MPI it is not needed: leave it out")
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    size, me = comm.Get_size(), comm.Get_rank()
    if world_size not in (-1, None) and int(world_size) != size:
        raise ValueError(f"init_process_group: world_size={world_size} but MPI started {size} "
                         f"process(es) (mpiexec -n {size}); leave world_size out or start "
                         f"mpiexec -n {world_size}")
    if rank not in (-1, None) and int(rank) != me:
        raise ValueError(f"init_process_group: rank={rank} but MPI gave this process rank {me}; "
                         f"leave rank out (mpiexec assigns the ranks)")
    _state.timeout = timeout
    _set_world(ProcessGroup(comm, range(size)))


def is_initialized():
    return _state.default is not None


def _default():
    if _state.default is None:
        raise DistNotInitializedError(NOT_INITIALIZED)
    return _state.default


def _group(group=None):
    """The ProcessGroup for a `group` argument (None: the default group)."""
    default = _default()
    if group is None:
        return default
    if isinstance(group, (ProcessGroup, _NonMember)):
        return group
    raise TypeError(f"group must be a ProcessGroup from new_group() or None (the default "
                    f"group), not {type(group).__name__}")


def _comm(group=None):
    """The mpi4py communicator of `group` (MPI.COMM_WORLD for the default group)."""
    pg = _group(group)
    if isinstance(pg, _NonMember):
        raise RuntimeError("this process is not a member of the group (new_group(ranks) did not "
                           "list its rank), so the group has no communicator here")
    return pg.comm


def destroy_process_group(group=None):
    """Leaves `group`, or the default group (MPI itself stays initialised until exit, so
    init_process_group can be called again)."""
    if group is None or group is _state.default:
        _default()
        _set_world(None)
        return
    if isinstance(group, ProcessGroup) and group.comm is not None:
        group.comm.Free()
        group.comm = None


def get_rank(group=None):
    """This process's rank in `group` (-1 if it is not a member, as torch)."""
    pg = _group(group)
    return -1 if isinstance(pg, _NonMember) else pg.comm.Get_rank()


def get_world_size(group=None):
    """The number of processes in `group` (-1 if this process is not a member, as torch)."""
    pg = _group(group)
    return -1 if isinstance(pg, _NonMember) else pg.comm.Get_size()


def get_backend(group=None):
    _group(group)
    return Backend.MPI


def get_process_group_ranks(group):
    pg = _group(group)
    return list(pg.ranks) if isinstance(pg, ProcessGroup) else []


def get_global_rank(group, group_rank):
    """The default-group rank of `group_rank` in `group`."""
    pg = _group(group)
    if not 0 <= group_rank < len(pg.ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {pg} "
                         f"(it has {len(pg.ranks)} ranks)")
    return pg.ranks[group_rank]


def get_group_rank(group, global_rank):
    """The rank in `group` of the process with default-group rank `global_rank`."""
    pg = _group(group)
    if global_rank not in pg.ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg.ranks.index(global_rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False, group_desc=None, device_id=None):
    """A group of the default group's processes `ranks` (all of them if None). Every process of
    the default group must call it with the same ranks (an MPI collective)."""
    world = _default()
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"new_group: backend {backend!r} is not supported; MPI only")
    size = world.comm.Get_size()
    ranks = list(range(size)) if ranks is None else sorted(int(r) for r in ranks)
    bad = [r for r in ranks if not 0 <= r < size]
    if bad or len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: ranks {ranks} must be distinct ranks of the default group "
                         f"(0 .. {size - 1})")
    sub = world.comm.group.Incl(ranks)
    comm = world.comm.Create(sub)  # (collective over the whole default group)
    sub.Free()
    if comm == _mpi().COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    return ProcessGroup(comm, ranks)
