"""chainrule download mnist|fashion-mnist [--root DIR]: fetch a dataset's official files (md5-checked,
written atomically) so that training later needs no network.

Files go to ROOT/MNIST/raw/ (or ROOT/FashionMNIST/raw/). ROOT: --root, else $CHAINRULE_DATA, else
~/.cache/chainrule - the same places `chainrule train` looks. On a machine without network, copy the four
*-ubyte.gz files (from a machine that has them) into that folder by hand; `chainrule download` then
checks them and downloads nothing. $CHAINRULE_MIRRORS (comma-separated base URLs) replaces the mirrors.
"""
import sys

from ._args import HelpFormatter

__all__ = ["register"]


def run(args):
    from ..datasets import default_root          # datasets load only when the command runs
    from ..recipe.data import image_dataset_class
    cls = image_dataset_class(args.dataset, args.mirror)
    root = default_root(args.root)
    try:
        splits = [cls(root, train=train, download=True) for train in (True, False)]
    except (FileNotFoundError, RuntimeError) as e:
        print(f"chainrule download: {e}", file=sys.stderr)
        return 1
    print(f"{args.dataset}: {len(splits[0])} training and {len(splits[1])} test images ready "
          f"(files md5-checked, in {splits[0].raw_folder} or {root})")
    return 0


def register(subparsers):
    p = subparsers.add_parser("download", help="fetch MNIST or Fashion-MNIST for offline use",
                              description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("dataset", choices=["mnist", "fashion-mnist"], help="which dataset")
    p.add_argument("--root", default=None,
                   help="data folder (default: $CHAINRULE_DATA, else ~/.cache/chainrule)")
    p.add_argument("--mirror", action="append", default=None, metavar="URL",
                   help="base URL to download from instead of the official mirrors (repeatable)")
    p.set_defaults(func=run)
