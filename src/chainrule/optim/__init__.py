"""chainrule.optim: optimisers and learning-rate schedulers, as ``torch.optim``.

    opt = chainrule.optim.Adam(model.parameters(), lr=1e-3)
    sched = chainrule.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    sched.step()
"""
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer, register_optimizer_step_post_hook, register_optimizer_step_pre_hook
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "LBFGS", "RMSprop", "Adamax", "NAdam",
           "lr_scheduler",
           "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


from .._lazy import lazy_attributes as _lazy_attributes  # noqa: E402

# lr_scheduler loads on first use (chainrule.optim.lr_scheduler.StepLR works as before)
__getattr__, __dir__ = _lazy_attributes(__name__, {"lr_scheduler": ".lr_scheduler"})
