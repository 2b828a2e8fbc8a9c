"""Stage 7 — the operator's spectrum.

A convolution layer (bias aside) is a linear map ``T`` from ``R^(C_in prod(n))`` to
``R^(C_out prod(o))`` (the matrix :func:`convproof.conv_matrix` builds).

==========================================  =============================================
module: call                                returns
==========================================  =============================================
:mod:`.singular_values`:                    every singular value for circular padding
:func:`~convproof.singular_values`          whenever the layer is block-circulant (stride
                                            1 **and** strided, groups, dilation), by FFT;
                                            the top ``k`` otherwise (ARPACK on the
                                            matrix-free operator: ``conv`` and its adjoint)
:mod:`.operator_norm`:                      a certified interval ``[lower, upper]`` for the
:func:`~convproof.operator_norm`            largest singular value: ``lower`` from an
                                            explicit vector evaluated exactly
                                            (:mod:`.lower_bound`), ``upper`` from a named
                                            theorem (:mod:`.bounds`), every padding mode
:mod:`.lipschitz`:                          per conv layer of a network: the interval next
:func:`~convproof.lipschitz_report`,        to the reshaped-weight norm (``spectral_norm``)
:func:`~convproof.check_lipschitz`          and the common bounds; a property test of a
                                            user's layer that claims a Lipschitz bound
==========================================  =============================================

:mod:`.linear_map` holds what they share: input checks, the (polyphase) circulant model
and the matrix-free operator.
"""
