package cn.headroom;

/**
 * A call Headroom refused: {@link #status()} is the stable status of include/headroom.h
 * ({@code HEADROOM_EOVERLOADED} is 29, say), the message says what was wrong and where.
 */
public final class HeadroomException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;

    public HeadroomException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The status of include/headroom.h that the call returned. */
    public int status() {
        return status;
    }
}
