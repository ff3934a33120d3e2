"""Differentiable ops, one file per family; each op's forward and backward rule sit side by side.

Layering (a file imports only from the layers above it; a function-local import marks a real cycle):

1. ``_util``          dtype promotion, dim normalisation, and the raw-array kernels several families share
                      (``sum_to_array``, ``sigmoid_array``, ``dropout_keep_mask``)
2. ``shape``          views and copies that move data: reshape, transpose, expand, ``sum_to`` (broadcast's
                      adjoint, used by every backward rule below)
3. ``arithmetic``     + - * / ** and friends;  ``compare`` (no gradient);  ``unary`` (exp, tanh, relu...)
4. ``reduce``         sum, mean, max, softmax...;  ``index`` (getitem, gather, index_put);  ``sorting``;
   ``linalg``         matmul and einsum;  ``inplace`` (x.add_() and setitem: version counters, rebasing)
5. layer kernels, named after the ``nn`` files they serve: ``linear``, ``conv``, ``pooling``,
   ``normalization``, ``dropout``, ``embedding``, ``attention``, ``rnn``, ``loss``, ``distance``, ``one_hot``
6. ``with_out``       the top-level forms with PyTorch's ``out=`` argument (``_out`` holds the shared check)

The Tensor's method table (``x.exp()``, ``a @ b``) is ``chainrule/tensor_methods.py``, beside ``tensor.py``.
What a backward rule may assume is written in the docstring of ``chainrule.autograd.function.Op``.
"""
