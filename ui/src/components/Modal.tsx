/**
 * A modal dialog on the native <dialog> element: focus is trapped and Escape closes it (the browser does
 * both), the page behind is inert. Content scrolls inside; the footer holds the actions.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import './Modal.css';

export interface ModalProps {
  readonly title: ReactNode;
  readonly onClose: () => void;
  readonly children: ReactNode;
  /** Buttons, right-aligned. */
  readonly footer?: ReactNode;
  readonly size?: 'small' | 'medium' | 'large';
  readonly testId?: string;
}

export function Modal({ title, onClose, children, footer, size = 'medium', testId }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const d = ref.current;
    if (!d) return undefined;
    if (!d.open) d.showModal();
    const onCancel = (e: Event) => {
      e.preventDefault(); // React owns whether the dialog is shown
      close.current();
    };
    d.addEventListener('cancel', onCancel);
    return () => {
      d.removeEventListener('cancel', onCancel);
      if (d.open) d.close();
    };
  }, []);
  return (
    <dialog ref={ref} className={`modal ${size}`} aria-labelledby="modal-title" data-testid={testId}>
      <div className="modal-head">
        <h2 id="modal-title">{title}</h2>
        <button type="button" className="btn icon" aria-label="Close" title="Close" onClick={onClose}>
          ✕
        </button>
      </div>
      <div className="modal-body">{children}</div>
      {footer && <div className="modal-foot">{footer}</div>}
    </dialog>
  );
}

/**
 * Cancel and the dialog's main action, side by side: for a modal's footer, or the end of a form in it
 * (`submit`: the action submits the form).
 */
export function DialogActions({
  confirmLabel,
  onCancel,
  onConfirm,
  disabled,
  danger,
  submit,
  autoFocus,
  testId,
}: {
  confirmLabel: ReactNode;
  onCancel: () => void;
  onConfirm?: () => void;
  disabled?: boolean;
  danger?: boolean;
  submit?: boolean;
  autoFocus?: boolean;
  testId?: string;
}) {
  return (
    <>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
      <button
        type={submit ? 'submit' : 'button'}
        className={`btn ${danger ? 'danger-solid' : 'primary'}`}
        disabled={disabled}
        onClick={onConfirm}
        autoFocus={autoFocus}
        data-testid={testId}
      >
        {confirmLabel}
      </button>
    </>
  );
}

/** A yes/no question about a destructive or irreversible action. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  danger,
  busy,
  onConfirm,
  onClose,
}: {
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Modal
      title={title}
      onClose={onClose}
      size="small"
      testId="confirm-dialog"
      footer={
        <DialogActions
          confirmLabel={confirmLabel}
          danger={danger}
          disabled={busy}
          onCancel={onClose}
          onConfirm={onConfirm}
          autoFocus
        />
      }
    >
      {children}
    </Modal>
  );
}
